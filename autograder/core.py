"""The check engine: properties worth points, run in isolation, summarised in a report.

A `Check` is an ordered list of `Property`s. Each property's test gets a shared
context (`ctx`, a dict the check fills as it goes: earlier properties can store the
built model there) and either returns None (full points), returns a fraction in
[0, 1] (partial points), or raises `CheckFailed("short reason")`. Any other
exception counts as a failure whose message names only the exception type and
the student's own message: hidden code never appears in what students see.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import signal
import sys
import threading
import time
import traceback
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import torch


class CheckFailed(AssertionError):
    """A property does not hold; the message is shown to the student."""


class PropertyTimeout(Exception):
    """A property ran past its time budget."""


@dataclass(frozen=True)
class Property:
    name: str
    points: float
    test: Callable[[dict], Any]
    needs: tuple = ()          # ctx keys that must exist (set by earlier properties)
    budget_s: float = 30.0
    provides: tuple = ()       # ctx keys this property sets (documentation and dependency checks)


@dataclass
class Outcome:
    name: str
    points: float
    earned: float
    status: str                # "pass" | "partial" | "fail" | "skip"
    message: str = ""
    seconds: float = 0.0


@dataclass
class Report:
    title: str
    outcomes: list = field(default_factory=list)
    device: str = "cpu"

    @property
    def score(self) -> float:
        return round(sum(o.earned for o in self.outcomes), 4)

    @property
    def max_score(self) -> float:
        return round(sum(o.points for o in self.outcomes), 4)

    def failed(self) -> list:
        """Names of the properties that did not earn all their points."""
        return [o.name for o in self.outcomes if o.earned < o.points]

    def text(self) -> str:
        marks = {"pass": "✓", "partial": "~", "fail": "✗", "skip": "·"}
        lines = [f"{self.title}: {_fmt(self.score)}/{_fmt(self.max_score)} points (checked on {self.device})"]
        for o in self.outcomes:
            line = f"  {marks[o.status]} {o.name} [{_fmt(o.earned)}/{_fmt(o.points)}]"
            if o.message:
                line += f": {o.message}"
            lines.append(line)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


def _fmt(x: float) -> str:
    return f"{x:g}"


def student_error(exc: BaseException, limit: int = 160) -> str:
    """A one-line description of an exception raised by student code (no traceback)."""
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(msg) > limit:
        msg = msg[:limit] + "…"
    return f"raised {type(exc).__name__}" + (f": {msg}" if msg else "")


@contextlib.contextmanager
def time_limit(seconds: float):
    """Raise PropertyTimeout in the main thread after `seconds` (no limit elsewhere)."""
    if seconds is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_alarm(signum, frame):
        raise PropertyTimeout()

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def isolated():
    """Run student code quietly, on one CPU thread, and leave no trace.

    Anything written to stderr is swallowed (nbgrader gives a test cell zero
    points if it writes to stderr), warnings are silenced, and the global RNG
    states and grad mode are restored afterwards.
    """
    np_state = np.random.get_state()
    grad = torch.is_grad_enabled()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # checks are small; one thread avoids stalls when graders run in parallel
    with torch.random.fork_rng(devices=range(torch.cuda.device_count()) if torch.cuda.is_available() else []):
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            try:
                yield
            finally:
                np.random.set_state(np_state)
                torch.set_grad_enabled(grad)
                torch.set_num_threads(threads)


def default_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


class Check:
    """A graded item: a title and its properties, run in order."""

    def __init__(self, title: str, properties: list, setup: Callable[[Any], dict] | None = None):
        self.title = title
        self.properties = list(properties)
        self.setup = setup or (lambda subject: {"subject": subject})
        names = [p.name for p in self.properties]
        if len(set(names)) != len(names):
            raise ValueError(f"{title}: duplicate property names")

    @property
    def max_score(self) -> float:
        return round(sum(p.points for p in self.properties), 4)

    def missing(self, reason: str) -> Report:
        """The report for a subject that does not exist: every property fails."""
        return Report(self.title, [Outcome(p.name, p.points, 0.0, "fail", reason) for p in self.properties],
                      device=default_device())

    def __call__(self, subject) -> Report:
        ctx = self.setup(subject)
        ctx.setdefault("device", default_device())
        report = Report(self.title, device=str(ctx["device"]))
        for prop in self.properties:
            report.outcomes.append(_run_property(prop, ctx))
        return report


def _run_property(prop: Property, ctx: dict) -> Outcome:
    absent = [k for k in prop.needs if k not in ctx]
    if absent:
        return Outcome(prop.name, prop.points, 0.0, "fail", "not checked: an earlier step failed")
    start = time.perf_counter()
    try:
        with isolated(), time_limit(prop.budget_s):
            result = prop.test(ctx)
    except CheckFailed as exc:
        return Outcome(prop.name, prop.points, 0.0, "fail", str(exc), time.perf_counter() - start)
    except PropertyTimeout:
        return Outcome(prop.name, prop.points, 0.0, "fail", f"took longer than {prop.budget_s:g} s",
                       time.perf_counter() - start)
    except Skipped as exc:
        return Outcome(prop.name, prop.points, prop.points, "skip", str(exc), time.perf_counter() - start)
    except Exception as exc:  # student code may raise anything
        return Outcome(prop.name, prop.points, 0.0, "fail", student_error(exc), time.perf_counter() - start)
    seconds = time.perf_counter() - start
    if result is None or result is True:
        return Outcome(prop.name, prop.points, prop.points, "pass", "", seconds)
    fraction, message = result if isinstance(result, tuple) else (result, "")
    fraction = min(max(float(fraction), 0.0), 1.0)
    status = "pass" if fraction == 1 else "partial" if fraction > 0 else "fail"
    return Outcome(prop.name, prop.points, round(prop.points * fraction, 4), status, message, seconds)


class Skipped(Exception):
    """A property that cannot run here (e.g. no GPU): full points, with a visible note."""


def _log_internal_error(name: str) -> None:
    """Append a check's own crash to $AUTOGRADER_LOG (instructor-side), never to the notebook."""
    path = os.environ.get("AUTOGRADER_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(f"--- check of {name} crashed\n{traceback.format_exc()}\n")


def grade(name: str, check: Check, namespace: dict | None = None) -> float:
    """Run `check` on the object called `name` in the caller's namespace; print the report; return points.

    Never raises: a missing name or a crash inside the check costs points, not the cell.
    """
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    try:
        if name not in namespace:
            report = check.missing(f"`{name}` is not defined: run the cell that defines it")
        else:
            report = check(namespace[name])
    except Exception:  # a bug in a check must not crash grading; keep details out of student view
        report = check.missing("the grader could not run this check; ask your instructor")
        _log_internal_error(name)
    print(report.text())
    score = report.score
    return score if math.isfinite(score) else 0.0
