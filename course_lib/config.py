"""Run-time settings shared by every assignment: fast mode, the data folder and its cache."""
from __future__ import annotations

import os
from pathlib import Path

FAST_ENV = "COURSE_FAST"
DATA_ENV = "COURSE_DATA_DIR"


def fast_mode() -> bool:
    """True when COURSE_FAST is set to a true value (1/true/yes): tiny data, one or two epochs."""
    return os.environ.get(FAST_ENV, "").strip().lower() in {"1", "true", "yes", "on"}


def epochs(full: int, fast: int = 1) -> int:
    """The number of epochs to run: `full` normally, `fast` in fast mode."""
    return fast if fast_mode() else full


def data_root() -> Path:
    """Folder holding every data set: $COURSE_DATA_DIR, else ~/.cache/course_lib/data."""
    env = os.environ.get(DATA_ENV)
    root = Path(env).expanduser() if env else Path.home() / ".cache" / "course_lib" / "data"
    return root


def cache_dir(name: str) -> Path:
    """Where parsed or unpacked copies of data set `name` are kept: <data root>/cache/<name>.

    Never inside a data set's own folder, which holds only its files (real ones are never written to).
    """
    return data_root() / "cache" / name
