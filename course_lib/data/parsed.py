"""Parse once per process: readers cached by path and modification time, results read-only.

A cached result is shared by every later call, so its arrays are made read-only: changing
them in place raises instead of silently changing what the next reader returns. Datasets copy
what they turn into tensors.
"""
from __future__ import annotations

from dataclasses import fields, is_dataclass
from functools import lru_cache, wraps
from pathlib import Path

import numpy as np


def read_only(obj):
    """`obj` with its NumPy arrays made read-only (an array, a dataclass, a dict or tuple of them)."""
    if isinstance(obj, np.ndarray):
        obj.setflags(write=False)
    elif is_dataclass(obj):
        for f in fields(obj):
            read_only(getattr(obj, f.name))
    elif isinstance(obj, dict):
        for value in obj.values():
            read_only(value)
    elif isinstance(obj, tuple):
        for value in obj:
            read_only(value)
    return obj


def _stamp(path: Path) -> int:
    """Modification time of a file, or the newest of a folder and the files directly in it."""
    if path.is_dir():
        return max([path.stat().st_mtime_ns] + [p.stat().st_mtime_ns for p in path.iterdir() if p.is_file()])
    return path.stat().st_mtime_ns


def parse_once(parse=None, *, maxsize: int = 8):
    """Decorator: `parse(path)` runs once per (resolved path, modification time); its result is read-only."""
    def wrap(func):
        @lru_cache(maxsize=maxsize)
        def cached(path: str, stamp: int):
            return read_only(func(Path(path)))

        @wraps(func)
        def reader(path):
            p = Path(path).resolve()
            return cached(str(p), _stamp(p))

        reader.cache_clear = cached.cache_clear
        return reader
    return wrap(parse) if parse is not None else wrap
