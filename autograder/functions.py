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


def expect_scalar_tensor(out, what: str) -> None:
    """CheckFailed unless `out` is a 0-d tensor (a loss that .backward() can be called on)."""
    if not torch.is_tensor(out) or out.dim() != 0:
        shape = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise CheckFailed(f"{what}: expected a 0-d tensor (so that .backward() works), got {shape}")


def expect_same_gradient(fn, reference, args: tuple, what: str, wrt: str) -> None:
    """CheckFailed unless fn(*args) and reference(*args) give the same gradient w.r.t. args[0]."""
    mine = args[0].clone().requires_grad_(True)
    out = call(fn, mine, *args[1:], what=what)
    if not torch.is_tensor(out) or not out.requires_grad:
        raise CheckFailed(f"the loss is not connected to the {wrt} (no gradient)")
    out.backward()
    theirs = args[0].clone().requires_grad_(True)
    reference(theirs, *args[1:]).backward()
    if mine.grad is None or not torch.allclose(mine.grad, theirs.grad, atol=1e-6, rtol=1e-4):
        raise CheckFailed(f"the gradient with respect to the {wrt} is not that of {what}")
