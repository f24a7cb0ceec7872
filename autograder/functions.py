"""Helpers for checking students' losses and metrics against the reference."""
from __future__ import annotations

import math

import numpy as np
import torch

from .core import CheckFailed, Skipped, student_error


def as_float(value, what: str) -> float:
    """A Python float from a number, 0-d array or one-element tensor; CheckFailed otherwise."""
    try:
        if torch.is_tensor(value):
            if value.numel() != 1:
                raise CheckFailed(f"{what} returned a tensor of shape {tuple(value.shape)}, expected a scalar")
            return float(value.detach().cpu().item())
        return float(value)
    except CheckFailed:
        raise
    except Exception:
        raise CheckFailed(f"{what} returned {type(value).__name__}, expected a number") from None


def call(fn, *args, what: str):
    """Call student code, turning NotImplementedError and crashes into short CheckFailed messages."""
    try:
        return fn(*args)
    except NotImplementedError:
        raise CheckFailed("not implemented yet") from None
    except CheckFailed:
        raise
    except Exception as exc:
        raise CheckFailed(f"{what} {student_error(exc)}") from None


def assert_close(got: float, want: float, what: str, rel: float = 1e-4, abs_: float = 1e-6) -> None:
    if not (math.isfinite(got) and math.isclose(got, want, rel_tol=rel, abs_tol=abs_)):
        raise CheckFailed(f"{what}: got {got:.6g}, expected {want:.6g}")


def cuda_or_skip() -> torch.device:
    """The CUDA device, or Skipped (full points, visible note) when there is none."""
    if not torch.cuda.is_available():
        raise Skipped("skipped: no GPU on the grading machine")
    return torch.device("cuda")


def random_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2, n).astype(np.float64)
