"""The manifest of a synthetic data folder: its parameters, what is known about it (the
ceilings), and a fingerprint of every file written.

`synthetic.json` in a data folder says that course_lib wrote it. The fingerprints tell
course_lib's own files from files someone placed there later: a folder that holds any file
course_lib did not write is never written to (`claim` refuses it).
"""
from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from dataclasses import asdict, is_dataclass
from pathlib import Path

NAME = "synthetic.json"
LOCK = ".synthetic.lock"


class ForeignFilesError(FileExistsError):
    """Synthetic data would be written into a folder holding files course_lib did not write."""


def params_of(**settings) -> dict:
    """Settings as they read back from JSON (dataclasses as dicts, tuples as lists), for comparison."""
    plain = {k: asdict(v) if is_dataclass(v) else v for k, v in settings.items()}
    return json.loads(json.dumps(plain))


def data_files(folder) -> list[str]:
    """Every file under `folder` that could be data, as sorted relative POSIX paths.

    Not counted: the manifest, hidden files (`.ipynb_checkpoints`, `.DS_Store`) and unfinished
    writes (`*.part`).
    """
    root = Path(folder)
    if not root.is_dir():
        return []
    found = []
    for path in root.rglob("*"):
        rel = path.relative_to(root)
        if path.is_file() and rel.as_posix() != NAME and not path.name.endswith(".part") \
                and not any(part.startswith(".") for part in rel.parts):
            found.append(rel.as_posix())
    return sorted(found)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def fingerprint(path) -> dict:
    st = Path(path).stat()
    return {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": _sha256(Path(path))}


def _unchanged(path: Path, recorded: dict) -> bool:
    if not path.is_file():
        return False
    st = path.stat()
    if st.st_size != recorded["size"]:
        return False
    # a copy (cp -r, a zip round trip) changes the time but not the bytes
    return st.st_mtime_ns == recorded["mtime_ns"] or _sha256(path) == recorded["sha256"]


def read(folder) -> dict | None:
    """The manifest of `folder`, or None if course_lib wrote no synthetic data there (real data)."""
    p = Path(folder) / NAME
    return json.loads(p.read_text()) if p.is_file() else None


def changed(folder, manifest: dict) -> list[str]:
    """Files the manifest lists that are missing or no longer what course_lib wrote."""
    root = Path(folder)
    return [rel for rel, rec in manifest.get("files", {}).items() if not _unchanged(root / rel, rec)]


def foreign(folder, manifest: dict | None) -> list[str]:
    """Files in `folder` that course_lib did not write: ones it does not list, and listed ones changed since.

    A manifest without a file list comes from an older course_lib, which owned its whole folder.
    """
    added, modified = _foreign_parts(folder, manifest)
    return sorted(added + modified)


def _foreign_parts(folder, manifest: dict | None) -> tuple[list, list]:
    if manifest is not None and "files" not in manifest:
        return [], []
    listed = set(manifest["files"]) if manifest else set()
    added = [rel for rel in data_files(folder) if rel not in listed]
    modified = [rel for rel in changed(folder, manifest) if (Path(folder) / rel).exists()] if manifest else []
    return added, modified


def current(folder, params: dict) -> dict | None:
    """The manifest of `folder` if it was written with `params` and its files are unchanged, else None."""
    old = read(folder)
    if old is None or old.get("params") != params or "files" not in old or changed(folder, old):
        return None
    return old


def claim(folder) -> None:
    """Check that synthetic data may be written into `folder`: it holds only files course_lib wrote.

    Raises ForeignFilesError naming the other files (real data is never overwritten or mixed in).
    """
    root = Path(folder)
    added, modified = _foreign_parts(root, read(root))
    if not (added or modified):
        return
    parts = [f"{what}: {_some(names)}" for what, names in
             (("files it did not write", added), ("files changed since it wrote them", modified)) if names]
    raise ForeignFilesError(
        f"{root}: holds {'; '.join(parts)}. course_lib will not write synthetic data there. To use your "
        f"files, make the folder hold only them (delete {NAME} and the synthetic files left); to use "
        "synthetic data, move your files elsewhere or choose another folder (COURSE_DATA_DIR, or data_dir=).")


def _some(names: list, shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


@contextmanager
def locked(folder):
    """Hold the writer lock of `folder` (one writer at a time across processes; others wait).

    In a folder nobody can write to, there is nothing to wait for: no lock is taken.
    """
    from filelock import FileLock

    lock = None
    try:
        Path(folder).mkdir(parents=True, exist_ok=True)
        if os.access(folder, os.W_OK):  # read-only (a shared copy, a sandbox): no writer to wait for
            lock = FileLock(Path(folder) / LOCK, is_singleton=True)  # one object per path: re-entrant
            lock.acquire()
    except OSError:
        lock = None
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


def write_once(folder, params: dict, write_files, force: bool = False) -> dict:
    """The manifest of `folder`, after `write_files(folder) -> facts` unless it holds data from `params`.

    The writer of every synthetic data set: cached by parameters; refuses a folder with files
    course_lib did not write (ForeignFilesError); records the facts (ceilings) and the files.
    A manifest without a file list is written before the data, so that a reader never takes a
    folder being written for real data (it waits for the lock instead).
    """
    claim(folder)  # before the lock too: not even a lock file goes into someone's folder
    with locked(folder):
        old = None if force else current(folder, params)
        if old is not None:
            return old
        claim(folder)
        _write_json(Path(folder), {"params": params, "writing": True})
        return write(folder, params, **write_files(Path(folder)))


def write(folder, params: dict, **facts) -> dict:
    """Write {"params", **facts, "files": fingerprints} to `folder`/synthetic.json; return it.

    Call it last, after the data files are written: every data file in the folder is recorded.
    """
    root = Path(folder)
    files = {rel: fingerprint(root / rel) for rel in data_files(root)}
    return _write_json(root, {"params": params, **facts, "files": files})


def _write_json(root: Path, manifest: dict) -> dict:
    """Write the manifest whole or not at all (a reader never sees half of it); return it as it reads back."""
    manifest = json.loads(json.dumps(manifest))
    root.mkdir(parents=True, exist_ok=True)
    tmp = root / f".{NAME}.{os.getpid()}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2))
    os.replace(tmp, root / NAME)
    return manifest
