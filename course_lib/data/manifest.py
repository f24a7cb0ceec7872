"""The manifest beside synthetic data: its parameters, and what is known about it (the ceilings).

Every synthetic writer caches the same way: if a manifest with the same parameters exists and
the data files are there, nothing is written again.
"""
from __future__ import annotations

import json
from dataclasses import asdict, is_dataclass
from pathlib import Path

SIDECAR_SUFFIX = ".synthetic.json"


def sidecar(data_file) -> Path:
    """The manifest path of a single-file data set: `<file>.synthetic.json` beside it."""
    p = Path(data_file)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def params_of(**settings) -> dict:
    """Settings as they read back from JSON (dataclasses as dicts, tuples as lists), for comparison."""
    plain = {k: asdict(v) if is_dataclass(v) else v for k, v in settings.items()}
    return json.loads(json.dumps(plain))


def read(path) -> dict | None:
    """The manifest at `path`, or None if there is none (real data has none)."""
    p = Path(path)
    return json.loads(p.read_text()) if p.exists() else None


def current(path, params: dict, *data_files) -> dict | None:
    """The manifest at `path` if it was written with `params` and every data file exists, else None."""
    old = read(path)
    if old is None or old.get("params") != params or not all(Path(f).exists() for f in data_files):
        return None
    return old


def write(path, params: dict, **facts) -> dict:
    """Write {"params": params, **facts} as JSON to `path`; return it as it reads back."""
    manifest = json.loads(json.dumps({"params": params, **facts}))
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Path(path).write_text(json.dumps(manifest, indent=2))
    return manifest
