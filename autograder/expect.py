"""Judge-side helpers for checking the answers of students' functions (values come back as plain data)."""
from __future__ import annotations

import math

import numpy as np
import torch

from .outcomes import CheckFailed, StudentError
from .remote import Opaque


def as_float(value, what: str) -> float:
    """A Python float from a number, 0-d array or one-element tensor; CheckFailed otherwise."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return float(value)
    if torch.is_tensor(value):
        if value.numel() != 1:
            raise CheckFailed(f"{what} returned a tensor of shape {tuple(value.shape)}, expected a scalar")
        if value.device.type == "meta":
            raise CheckFailed(f"{what} returned a tensor without values (meta device)")
        return float(value.detach().cpu().reshape(()).item())
    if isinstance(value, np.ndarray):
        if value.size != 1:
            raise CheckFailed(f"{what} returned an array of shape {value.shape}, expected a scalar")
        return float(value.reshape(()))
    if isinstance(value, (int, float, np.number)):
        return float(value)
    shown = value.type_name if isinstance(value, Opaque) else type(value).__name__
    raise CheckFailed(f"{what} returned {shown}, expected a number")


def as_array(value, what: str, dtype=np.float64) -> np.ndarray:
    """A NumPy array from a tensor, array or (nested) list of numbers; CheckFailed otherwise."""
    if torch.is_tensor(value):
        if value.device.type == "meta":
            raise CheckFailed(f"{what} returned a tensor without values (meta device)")
        value = value.detach().cpu().float().numpy() if value.dtype == torch.bfloat16 else value.detach().cpu().numpy()
    try:
        return np.asarray(value, dtype=dtype)
    except (TypeError, ValueError):
        shown = value.type_name if isinstance(value, Opaque) else type(value).__name__
        raise CheckFailed(f"{what} returned {shown}, expected a tensor or an array") from None


def assert_close(got: float, want: float, what: str, rel: float = 1e-4, abs_: float = 1e-6) -> None:
    if not (math.isfinite(got) and math.isclose(got, want, rel_tol=rel, abs_tol=abs_)):
        raise CheckFailed(f"{what}: got {got:.6g}, expected {want:.6g}")


def random_labels(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2, n).astype(np.float64)


def expect_scalar_tensor(out, what: str) -> None:
    """CheckFailed unless `out` is a 0-d tensor (a loss that .backward() can be called on)."""
    if not torch.is_tensor(out) or out.dim() != 0:
        shape = tuple(out.shape) if torch.is_tensor(out) else (out.type_name if isinstance(out, Opaque)
                                                                  else type(out).__name__)
        raise CheckFailed(f"{what}: expected a 0-d tensor (so that .backward() works), got {shape}")


def expect_same_gradient(fn, reference, args: tuple, what: str, wrt: str) -> None:
    """CheckFailed unless the student's fn and `reference` give the same gradient w.r.t. args[0]."""
    answer = fn.with_gradient(*args, wrt=(0,), what=what)
    if not isinstance(answer, dict) or not answer.get("connected"):
        raise CheckFailed(f"the loss is not connected to the {wrt} (no gradient)")
    mine = answer["grads"][0]
    theirs = args[0].clone().requires_grad_(True)
    reference(theirs, *args[1:]).backward()
    if not torch.is_tensor(mine) or mine.shape != theirs.grad.shape or \
            not torch.allclose(mine.double().cpu(), theirs.grad.double().cpu(), atol=1e-6, rtol=1e-4):
        raise CheckFailed(f"the gradient with respect to the {wrt} is not that of {what}")


def expect_raises(error: str, call, what: str) -> None:
    """Pass if `call()` (a request to student code) raises `error`; CheckFailed saying what happened otherwise."""
    try:
        result = call()
    except StudentError as exc:
        if exc.is_a(error):
            return
        if exc.not_implemented:
            raise CheckFailed("not implemented yet") from None
        raise CheckFailed(f"{what} should raise {error}, but it raised {exc.type}") from None
    shown = result.type_name if isinstance(result, Opaque) else repr(result)
    raise CheckFailed(f"{what} should raise {error}, but it returned {shown[:60]}")


def cuda(*tensors):
    """The tensors moved to the GPU (only GPU-marked checks call this)."""
    moved = tuple(t.to("cuda") for t in tensors)
    return moved if len(moved) != 1 else moved[0]
