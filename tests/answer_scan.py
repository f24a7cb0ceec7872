"""Look for graded answers in the student build of course_lib (tests/test_student_build_exposes_no_answer.py).

The student wheel is built and unpacked, and its package is imported under another name
(`ALIAS`), so that what is found is what students install and nothing of the instructor's
copy (which has `reference/`). Every function, class and bound method reachable from its
modules is a candidate (through classes, module-level instances, containers, partials and
decorators).

Running every graded item's real check on every candidate would cost a pytest session per
binding (1-5 s each on a shared 2-core machine, over 2,000 bindings), so candidates go
through two stages:

1. Could it fit the item? A candidate with the item's name always goes on. Otherwise it must
   be the same kind of object as the reference answer (an nn.Module class, a Dataset class,
   another class with every public method of the reference class, or a function that can be
   called with the reference function's required positional arguments), and a function must
   answer the check's own first calls (recorded from the real check run against the
   reference: the calls the reference answered rather than raised on) with a value of the
   same form as the reference's (number, string, array or tensor of the same shape, a tuple
   of such, None), within 1 s or 10x the reference's time. A function that raises, returns
   another kind of thing or takes far longer where the reference answers does not pass those
   checks.
2. The real check (`grading_support.local_reports`) on every candidate that got through; no
   candidate may earn the item's full points.
"""
from __future__ import annotations

import collections
import contextlib
import copy
import functools
import importlib
import importlib.util
import inspect
import io
import sys
import time
import types
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

ALIAS = "_student_build_of_course_lib"
CALLS_PER_ITEM = 6          # recorded check calls each fitting function must answer in form
MIN_CALL_BUDGET_S = 1.0     # a candidate answers each replayed call within this, or 10x the reference's time
SLOWER_THAN_REFERENCE = 10


# ---------------------------------------------------------------- the student build, imported apart
def unpack_student_build(folder: Path) -> Path:
    """Build the student wheel into `folder`, unpack it; the unpacked package folder."""
    from autograder.student_build import build_student_wheel

    wheel = build_student_wheel(folder / "dist")
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(folder / "tree")
    return folder / "tree" / "course_lib"


def import_tree(package_dir: Path, alias: str = ALIAS) -> dict:
    """{module name: module} for every module file of the package, imported as package `alias`."""
    spec = importlib.util.spec_from_file_location(alias, package_dir / "__init__.py",
                                                  submodule_search_locations=[str(package_dir)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[alias] = package
    spec.loader.exec_module(package)
    modules = {}
    for path in sorted(package_dir.rglob("*.py")):
        parts = [p for p in path.relative_to(package_dir).with_suffix("").parts if p != "__init__"]
        name = ".".join([alias, *parts])
        modules[name] = importlib.import_module(name)
    return modules


def forget_tree(alias: str = ALIAS) -> None:
    for name in [n for n in sys.modules if n == alias or n.startswith(alias + ".")]:
        del sys.modules[name]


# ---------------------------------------------------------------- candidates
@dataclass(frozen=True)
class Candidate:
    path: str           # how it is reached, e.g. course_lib.motifs.dinucleotide_shuffle
    obj: object

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]


def _ours(obj, alias: str) -> bool:
    module = getattr(obj, "__module__", None) or ""
    return module == alias or module.startswith(alias + ".")


def _children(obj, alias: str):
    """(label, value) of what can be reached from `obj` by attribute, item or unwrapping."""
    if isinstance(obj, type):
        return list(vars(obj).items()) if _ours(obj, alias) else []
    if isinstance(obj, (staticmethod, classmethod)):
        return [("__func__", obj.__func__)]
    if isinstance(obj, property):
        return [(k, getattr(obj, k)) for k in ("fget", "fset") if getattr(obj, k) is not None]
    if isinstance(obj, functools.partial):
        return [("func", obj.func)]
    if isinstance(obj, dict):
        return [(str(k), v) for k, v in obj.items()]
    if isinstance(obj, (list, tuple, set, frozenset)):
        return [(str(i), v) for i, v in enumerate(obj)]
    if hasattr(obj, "__wrapped__"):
        return [("__wrapped__", obj.__wrapped__)]
    if _ours(type(obj), alias):
        # an instance of one of the package's classes: its attributes and bound methods
        attrs = list(getattr(obj, "__dict__", {}).items())
        return attrs + [(k, getattr(obj, k)) for k in dir(type(obj))
                        if not k.startswith("__") and callable(getattr(type(obj), k, None))]
    return []


def _shown_path(obj, reached: str, alias: str) -> str:
    """Where a function or class is defined (course_lib.motifs.f), else how it was reached (a bound method)."""
    if isinstance(obj, (type, types.FunctionType)) and "<" not in obj.__qualname__:
        reached = f"{obj.__module__}.{obj.__qualname__}"
    return "course_lib" + reached[len(alias):]


def _is_dunder(label: str) -> bool:
    return label.startswith("__") and label.endswith("__")


def candidates(modules: dict, alias: str = ALIAS, max_depth: int = 4) -> list[Candidate]:
    """Every function, class and bound method of the package reachable from its modules' globals
    (through classes, instances, containers, partials and decorators), each once; paths read
    `course_lib.…`. Special methods (__init__, __eq__, …) are left out: a class is tried whole."""
    found, seen, bound = [], set(), set()
    queue = collections.deque((name, module, 0) for name, module in modules.items())
    while queue:
        path, obj, depth = queue.popleft()
        if id(obj) in seen or depth > max_depth:
            continue
        seen.add(id(obj))
        if isinstance(obj, types.ModuleType):
            if obj.__name__ != alias and not obj.__name__.startswith(alias + "."):
                continue
            children = list(vars(obj).items())
        else:
            underlying = getattr(obj, "__func__", obj)
            if callable(obj) and _ours(underlying, alias) and not _is_dunder(path.rsplit(".", 1)[-1]):
                key = (type(getattr(obj, "__self__", None)), underlying) if inspect.ismethod(obj) else None
                if key is None or key not in bound:   # a bound method once per class, not per instance
                    bound.add(key)
                    found.append(Candidate(_shown_path(obj, path, alias), obj))
            children = _children(obj, alias)
        for label, value in children:
            if isinstance(value, types.ModuleType) and not value.__name__.startswith(alias):
                continue
            queue.append((f"{path}.{label}", value, 0 if isinstance(obj, types.ModuleType) else depth + 1))
    return found


# ---------------------------------------------------------------- stage 1: could it fit?
def kind(obj) -> str:
    if isinstance(obj, type):
        if issubclass(obj, nn.Module):
            return "module"
        if issubclass(obj, Dataset) or (hasattr(obj, "__getitem__") and hasattr(obj, "__len__")):
            return "dataset"
        return "class"
    return "function"


def _required_positional(fn) -> int:
    params = inspect.signature(fn).parameters.values()
    return sum(1 for p in params if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))


def _callable_with(obj, n: int) -> bool:
    try:
        inspect.signature(obj).bind(*range(n))
    except (TypeError, ValueError):
        return False
    return True


def _public_methods(cls) -> set:
    return {k for k, v in vars(cls).items() if callable(v) and not k.startswith("_")}


def fits(candidate: Candidate, reference, item: str) -> bool:
    """Same name, or the same kind of object with a signature the check could call."""
    if candidate.name == item:
        return True
    k = kind(candidate.obj)
    if k != kind(reference):
        return False
    if k == "function":
        return _callable_with(candidate.obj, _required_positional(reference))
    if k == "class":
        return _public_methods(reference) <= {m for m in dir(candidate.obj) if not m.startswith("_")}
    return True


def form(value):
    """What kind of answer `value` is: 'number', 'str', ('array', shape), ('seq', forms), None, or its type."""
    if isinstance(value, (bool, int, float, np.number, np.bool_)):
        return "number"
    if isinstance(value, str):
        return "str"
    if torch.is_tensor(value) or isinstance(value, np.ndarray):
        size = value.numel() if torch.is_tensor(value) else value.size
        return "number" if size == 1 else ("array", tuple(value.shape))
    if isinstance(value, (tuple, list)) and len(value) <= 8:
        return ("seq", tuple(form(v) for v in value))
    return None if value is None else type(value).__name__


@dataclass
class Call:
    args: tuple
    kwargs: dict
    answer_form: object
    seconds: float      # the reference's time for it

    @property
    def budget_s(self) -> float:
        return max(MIN_CALL_BUDGET_S, SLOWER_THAN_REFERENCE * self.seconds)


def record_calls(assignment: str, namespace: dict) -> dict:
    """{function item: [Call]}: the reference's first answers (not its exceptions) in the real check."""
    from grading_support import local_reports

    calls = collections.defaultdict(list)

    def recording(item, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            saved = (copy.deepcopy(args), copy.deepcopy(kwargs)) if len(calls[item]) < CALLS_PER_ITEM else None
            start = time.perf_counter()
            result = fn(*args, **kwargs)
            if saved is not None:
                calls[item].append(Call(*saved, form(result), time.perf_counter() - start))
            return result
        return wrapper

    spied = {item: recording(item, fn) for item, fn in namespace.items() if kind(fn) == "function"}
    if spied:
        local_reports(assignment, spied, items=list(spied))
    return dict(calls)


def answers_in_form(candidate: Candidate, calls: list) -> bool:
    """True when the candidate answers every recorded call, in time, with a value of the reference's form."""
    from gradeworker.session import alarm, preserved_state, set_seed

    for call in calls:
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), preserved_state(), \
                    warnings.catch_warnings(), alarm(call.budget_s):
                warnings.simplefilter("ignore")      # nonsense arguments make for noisy numerics
                set_seed(0)
                result = candidate.obj(*copy.deepcopy(call.args), **copy.deepcopy(call.kwargs))
        except BaseException as exc:          # noqa: BLE001 - anything it raises means it does not fit
            if isinstance(exc, KeyboardInterrupt):
                raise
            return False
        finally:
            import matplotlib.pyplot as plt
            plt.close("all")
        if form(result) != call.answer_form:
            return False
    return True


def tried_candidates(assignment: str, reference: dict, found: list) -> dict:
    """{graded item: the candidates that go through to its real check} (stage 1, for every item of `reference`)."""
    calls = record_calls(assignment, reference)
    tried = {}
    for item, answer in reference.items():
        fitting = [c for c in found if fits(c, answer, item)]
        if kind(answer) == "function":
            fitting = [c for c in fitting if c.name == item or answers_in_form(c, calls.get(item, []))]
        tried[item] = fitting
    return tried


# ---------------------------------------------------------------- stage 2: the real checks
def bindings(per_item: dict) -> list[dict]:
    """Rounds of {item: candidate}: round r binds each item to its r-th candidate (one check run per round)."""
    rounds = max((len(v) for v in per_item.values()), default=0)
    return [{item: cands[r] for item, cands in per_item.items() if r < len(cands)} for r in range(rounds)]


def full_marks(assignment: str, per_item: dict) -> tuple[list, int]:
    """([(item, candidate path, score, max)] of candidates earning full points, number of check runs)."""
    from grading_support import local_reports

    winners, runs = [], 0
    for binding in bindings(per_item):
        reports = local_reports(assignment, {item: c.obj for item, c in binding.items()}, items=list(binding))
        runs += 1
        for item, report in reports.items():
            if report.score >= report.max_score - 1e-9:
                winners.append((item, binding[item].path, report.score, report.max_score))
    return winners, runs
