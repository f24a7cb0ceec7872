"""Shared fixtures: the real-data folder (skipped when absent) and a per-session data cache."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def shared_data(*parts: str) -> Path:
    """A path inside ../shared/data; skips the calling test (with the reason) when it is absent."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"real data not available: {path} is absent")
    return path


@pytest.fixture(scope="session", autouse=True)
def _data_cache(tmp_path_factory):
    """Synthetic data goes to COURSE_DATA_DIR (the Makefile sets a shared cache; else a temp folder)."""
    if "COURSE_DATA_DIR" not in os.environ:
        os.environ["COURSE_DATA_DIR"] = str(tmp_path_factory.mktemp("data"))
    yield


@pytest.fixture
def one_thread():
    """One torch thread: small models train many times faster so when the CPU is shared."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
