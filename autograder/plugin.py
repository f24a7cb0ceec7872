"""The pytest plugin that turns hidden-check tests into points and a report.

The judge runs an assignment's check module with pytest against one submission. This plugin
provides the `student` fixture (the submission's worker, see `remote.Student`), gives each test
its time budget, skips GPU-only properties on a machine without one (full points, visible
note), and turns every test's outcome into an `Outcome`: points earned and the one line the
student reads. A test that fails on anything but the check's own `CheckFailed`, or on what the
student's code did, is a grader error: the student reads a fixed sentence, the traceback goes
to the instructor's log.

Two ways in: the judge sets `ACTIVE` to a `Grading` before calling pytest (`judge.py`), or an
instructor runs pytest directly with `--submission NOTEBOOK` (the checks' conftest wires it).
"""
from __future__ import annotations

import time
import traceback

import pytest

from .outcomes import (GRADER_ERROR, CheckFailed, NotChecked, Outcome, Partial, Report, StudentError, StudentTimeout,
                       WorkerLost)
from .rubric import DEFAULT_BUDGET_S, item_of, rubric_of

NO_GPU = "skipped: no GPU on the grading machine"


class Grading:
    """One pytest run's state: the submission, the items to grade, and what each test earned."""

    def __init__(self, student, items=None, order_seed: int | None = None):
        self.student = student
        self.items = set(items) if items is not None else None
        self.order_seed = order_seed    # shuffle the tests (to show that no outcome depends on their order)
        self.outcomes: dict = {}        # item -> [(order, Outcome)]
        self.errors: list = []          # (nodeid, traceback) of grader errors, for the instructor
        self._start: dict = {}
        self._seen: set = set()
        self._defined_cache: dict = {}

    # ---------------------------------------------------------------- results
    def reports(self) -> dict:
        """{item: Report}, properties in rubric order."""
        device = getattr(self.student, "device_seen", "cpu")    # never starts a worker
        return {item: Report(item, [o for _, o in sorted(entries, key=lambda e: e[0])], device)
                for item, entries in self.outcomes.items()}

    def record(self, item, outcome: Outcome, order: int) -> None:
        self.outcomes.setdefault(item, []).append((order, outcome))

    # ---------------------------------------------------------------- hooks
    def pytest_collection_modifyitems(self, config, items):
        keep, drop = [], []
        for it in items:
            name = item_of(it)
            (keep if rubric_of(it) is not None and name is not None and
             (self.items is None or name in self.items) else drop).append(it)
        if self.order_seed is not None:
            import random
            random.Random(self.order_seed).shuffle(keep)
        if drop:
            config.hook.pytest_deselected(items=drop)
        items[:] = keep

    def pytest_runtest_setup(self, item):
        self._start[item.nodeid] = time.perf_counter()
        spec = rubric_of(item)
        if spec is not None and spec.gpu and not self.student.cuda and self._defined(item_of(item)):
            pytest.skip(NO_GPU)   # full points, visible note; an item that does not exist earns nothing

    def _defined(self, name: str) -> bool:
        if name not in self._defined_cache:
            try:
                self._defined_cache[name] = bool(self.student.lookup(name).get("defined"))
            except Exception:  # the worker is gone: the test itself will say so
                self._defined_cache[name] = False
        return self._defined_cache[name]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_call(self, item):
        spec = rubric_of(item)
        with self.student.budget(spec.budget_s if spec else DEFAULT_BUDGET_S):
            yield

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item, call):
        outcome = yield
        report = outcome.get_result()
        if item.nodeid in self._seen or call.when == "teardown":
            return
        if call.when == "setup" and report.passed:
            return
        self._seen.add(item.nodeid)
        spec = rubric_of(item)
        seconds = time.perf_counter() - self._start.get(item.nodeid, time.perf_counter())
        if report.skipped:
            reason = _skip_reason(call)
            result = Outcome(spec.title, spec.points, spec.points, "skip", reason, seconds)
        else:
            result = self._judge(item, spec, call.excinfo, seconds)
        self.record(item_of(item), result, spec.order)

    def _judge(self, item, spec, excinfo, seconds: float) -> Outcome:
        if excinfo is None:
            return Outcome(spec.title, spec.points, spec.points, "pass", "", seconds)
        exc = excinfo.value
        fail = lambda message: Outcome(spec.title, spec.points, 0.0, "fail", message, seconds)  # noqa: E731
        if isinstance(exc, Partial):
            earned = round(spec.points * exc.fraction, 4)
            status = "pass" if exc.fraction == 1 else "partial" if exc.fraction > 0 else "fail"
            return Outcome(spec.title, spec.points, earned, status, exc.message, seconds)
        if isinstance(exc, StudentError):
            return fail("not implemented yet" if exc.not_implemented else exc.describe())
        if isinstance(exc, (CheckFailed, NotChecked, StudentTimeout, WorkerLost)):
            return fail(str(exc))
        self.errors.append((item.nodeid, "".join(traceback.format_exception(excinfo.type, exc, excinfo.tb))))
        return Outcome(spec.title, spec.points, 0.0, "error", GRADER_ERROR, seconds)

    def pytest_runtest_teardown(self, item):
        try:
            self.student.reset()
        except Exception:  # a lost worker is restarted by the next request
            pass


def _skip_reason(call) -> str:
    if call.excinfo is not None:
        reason = getattr(call.excinfo.value, "msg", "") or str(call.excinfo.value)
        return reason if reason.startswith("skipped") else f"skipped: {reason}"
    return "skipped"


ACTIVE: Grading | None = None   # set by the judge (or the conftest) for the duration of one pytest run


@pytest.fixture(scope="session")
def student():
    if ACTIVE is None:
        pytest.skip("no submission: run these checks with --submission NOTEBOOK, or through the judge")
    return ACTIVE.student
