"""Help for students before they submit: friendly messages for common mistakes, and `validate`.

`validate(["MLP", "CNN", ...])` looks at your answers the way grading starts: is each one
defined, implemented, and (for a model) can it be built with its default arguments? Use the
quick-check cells under each exercise for more.
"""
from __future__ import annotations

import ast
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


# id(namespace) -> [(source, exception or None), ...] of the cells that shell ran since `watch_cells`.
_RUNS: dict = {}


class _Recorder:
    """IPython post_run_cell callback: append each cell's source and outcome to its namespace's list."""

    def __init__(self, runs: list):
        self.runs = runs

    def __call__(self, result) -> None:
        self.runs.append((getattr(result.info, "raw_cell", "") or "",
                          result.error_before_exec or result.error_in_exec))


def watch_cells(shell=None) -> bool:
    """Remember each cell's outcome (IPython's post_run_cell event), so that `validate` can tell a cell
    that never ran from one that ran and failed. Called by the set-up cell; False outside IPython."""
    if shell is None:
        ipython = sys.modules.get("IPython")   # not imported: not running under IPython (no import cost)
        shell = ipython.get_ipython() if ipython is not None else None
    if shell is None:
        return False
    key = id(shell.user_ns)
    if key not in _RUNS:
        _RUNS[key] = []
        shell.events.register("post_run_cell", _Recorder(_RUNS[key]))
    return True


def _defines(source: str, name: str) -> bool:
    """True if a cell's code binds `name` (def, class, assignment, import) or is its skeleton
    (a commented-out `def name` / `class name` line, as the answer cells start)."""
    if re.search(rf"^\s*#?\s*(async\s+def|def|class)\s+{re.escape(name)}\b", source, re.M):
        return True
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        targets = []
        if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names):
                return True
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return True
    return False


def _raises_not_implemented_at_top(source: str) -> bool:
    """True if a cell's own code (not a function inside it) still says `raise NotImplementedError`."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                return True
    return False


_UNKNOWN = object()   # a cell from IPython's input history: we know it ran, not how it ended


def _cell_runs(ns: dict) -> list:
    """(source, error) of the cells run so far: the recorded outcomes, else IPython's input history."""
    if id(ns) in _RUNS:
        return list(_RUNS[id(ns)])
    history = ns.get("In") or ns.get("_ih") or []
    return [(src, _UNKNOWN) for src in history if isinstance(src, str)]


def _undefined(name: str, ns: dict) -> str:
    """Why `name` is not defined: its cell never ran, raised NotImplementedError, or failed otherwise."""
    runs = [(src, err) for src, err in _cell_runs(ns) if _defines(src, name)]
    if not runs:
        return "not defined: run the cell that defines it"
    source, error = runs[-1]
    if error is _UNKNOWN:
        error = NotImplementedError() if _raises_not_implemented_at_top(source) else RuntimeError()
        what = "an error"
    else:
        what = explain(error) if error is not None else ""
    if isinstance(error, NotImplementedError):
        return ("not implemented yet: its cell ran but still raises NotImplementedError; replace "
                "`raise NotImplementedError()` with your answer and run the cell again")
    if error is None:  # ran without an error, yet the name is gone (deleted, or defined under another name)
        return "not defined: its cell ran but defines no such name; check the spelling, and run it again"
    return (f"not defined: its cell ran but stopped with {what} before defining it; fix that error "
            "(shown under the cell) and run the cell again")


def validate(names, namespace: dict | None = None) -> bool:
    """Print ✓/✗ for each answer in `names`; return True when all look ready to submit.

    A missing answer is reported as never run, still raising NotImplementedError, or failed with another error.
    """
    ns = namespace if namespace is not None else sys._getframe(1).f_globals
    ok = True
    for name in names:
        problem = _undefined(name, ns) if name not in ns else _status(ns[name])
        ok &= not problem
        print(f"{'✓' if not problem else '✗'} {name}" + (f": {problem}" if problem else ""))
    print("Ready to submit: the hidden checks will test each answer more thoroughly." if ok
          else "Not ready yet: fix the items marked ✗.")
    return ok
