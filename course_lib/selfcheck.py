"""Help for students before they submit: friendly messages for common mistakes, and `validate`.

`validate(["MLP", "CNN", ...])` looks at your answers the way grading starts: is each one
defined, implemented, and (for a model) can it be built with its default arguments? Use the
quick-check cells under each exercise for more.
"""
from __future__ import annotations

import inspect
import re
import sys

_HINTS = [
    (r"Expected all tensors to be on the same device|is on device .* but .* is on|expected device",
     "some tensors are on the GPU and others on the CPU: move the model with model.to(device) and every "
     "batch with x.to(device); inside forward, create new tensors with device=x.device"),
    (r"mat1 and mat2 shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)",
     "a linear layer received {1} features per sample but expects {2}: check its in_features "
     "(print x.shape just before it)"),
    (r"expected input\[.*\] to have (\d+) channels, but got (\d+) channels",
     "a convolution expects {0} channels but got {1}: nn.Conv1d wants (batch, channels, length), "
     "so swap the last two axes of a (batch, length, 4) input with x.transpose(1, 2)"),
    (r"Target size \((.*)\) must be the same as input size \((.*)\)",
     "the targets have shape ({0}) but the model output has shape ({1}): reshape one to match"),
    (r"element 0 of tensors does not require grad",
     "the loss is not connected to the model: avoid .detach(), .item() or NumPy inside the loss"),
    (r"Can't call numpy\(\) on Tensor that requires grad",
     "call .detach() before .numpy() (and .cpu() first if the tensor is on the GPU)"),
    (r"can't convert cuda.* to numpy",
     "move the tensor to the CPU first: x.detach().cpu().numpy()"),
]


def hint_for(exc: BaseException) -> str | None:
    """A plain-language hint for a common PyTorch error, or None."""
    text = str(exc)
    for pattern, hint in _HINTS:
        m = re.search(pattern, text)
        if m:
            return hint.format(*m.groups())
    return None


def explain(exc: BaseException) -> str:
    """A plain-language hint for a common PyTorch error, or the error itself."""
    return f"{type(exc).__name__}: {hint_for(exc) or exc}"


def with_hint(exc: BaseException) -> BaseException:
    """The same kind of exception with the hint appended (or `exc` itself when there is none)."""
    hint = hint_for(exc)
    if hint is None:
        return exc
    try:
        return type(exc)(f"{exc}\nHint: {hint}")
    except Exception:  # exception types with unusual constructors keep their own message
        return exc


def expect_shape(tensor, shape: tuple, what: str = "output") -> None:
    """AssertionError with a clear message unless `tensor` has `shape`."""
    got = tuple(getattr(tensor, "shape", ()))
    if got != tuple(shape):
        raise AssertionError(f"{what} has shape {got}; expected {tuple(shape)}")


def expect_eval_mode(model) -> None:
    """AssertionError if a model is still in training mode (dropout on) when it is evaluated."""
    if getattr(model, "training", False):
        raise AssertionError("the model is in training mode: call model.eval() before evaluating "
                             "(dropout would otherwise change its predictions)")


def _raises_not_implemented(func) -> bool:
    """True if the source of `func` still holds `raise NotImplementedError` (unknown source: False)."""
    try:
        return "raise NotImplementedError" in inspect.getsource(func)
    except (OSError, TypeError):
        return False


def _needs_arguments(cls) -> bool:
    """True if `cls()` cannot be called without arguments (a Dataset that takes its data, say)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params)


def _status(obj) -> str:
    if inspect.isclass(obj):
        if _needs_arguments(obj):  # cannot build it here: look for the skeleton's placeholder instead
            methods = [f for f in vars(obj).values() if inspect.isfunction(f)]
            return "not implemented yet" if any(map(_raises_not_implemented, methods)) else ""
        try:
            obj()
        except NotImplementedError:
            return "not implemented yet"
        except Exception as exc:
            return f"building it with default arguments fails: {explain(exc)}"
        return ""
    if callable(obj):
        return "not implemented yet" if _raises_not_implemented(obj) else ""
    return ""


def validate(names, namespace: dict | None = None) -> bool:
    """Print ✓/✗ for each answer in `names`; return True when all look ready to submit."""
    ns = namespace if namespace is not None else sys._getframe(1).f_globals
    ok = True
    for name in names:
        problem = "not defined: run the cell that defines it" if name not in ns else _status(ns[name])
        ok &= not problem
        print(f"{'✓' if not problem else '✗'} {name}" + (f": {problem}" if problem else ""))
    print("Ready to submit: the hidden checks will test each answer more thoroughly." if ok
          else "Not ready yet: fix the items marked ✗.")
    return ok
