"""The hidden-check engine: what each kind of test outcome is worth and what the student reads.

A small check module, written here, runs against a namespace through the same judge path the
assignments use (in-process worker): passes, failures, partial credit, "not checked" dependencies,
student exceptions, grader bugs, GPU-only properties, time budgets and a worker that dies.
"""
from __future__ import annotations

import textwrap

import pytest

from autograder.judge import run_checks
from autograder.outcomes import GRADER_ERROR
from autograder.remote import local_student

MODULE = '''
import pytest
from autograder.expect import as_float, assert_close, expect_raises
from autograder.outcomes import CheckFailed, Partial
from autograder.plugin import student  # noqa: F401  (the fixture)
from autograder.rubric import graded, rubric, step


@graded("double")
class TestDouble:
    @step(budget_s=10)
    def answer(self, student):
        return as_float(student.function("double")(2), "double")

    @rubric(2, "doubles a number")
    def test_doubles(self, answer):
        assert_close(answer.value, 4.0, "double(2)")

    @rubric(1, "depends on the first answer")
    def test_depends(self, answer):
        answer.needed

    @rubric(1, "half right")
    def test_partial(self, student):
        raise Partial(0.5, "only half")

    @rubric(1, "a bug in the check")
    def test_bug(self, student):
        {}["missing"]

    @rubric(1, "needs a GPU", gpu=True)
    def test_gpu(self, student):
        raise CheckFailed("never reached on a CPU")

    @rubric(1, "zero raises ValueError")
    def test_raises(self, student):
        expect_raises("ValueError", lambda: student.function("double")(0), "double(0)")

    @rubric(1, "finishes in time", budget_s=1)
    def test_budget(self, student):
        student.function("double")(-1)

    @rubric(1, "still answers after a slow call")
    def test_after_budget(self, student):
        assert_close(as_float(student.function("double")(5), "double"), 10.0, "double(5)")
'''


def _double(x):
    if x == 0:
        raise ValueError("zero")
    if x < 0:
        import time
        time.sleep(3)
    return 2 * x


def _module(tmp_path):
    """The check module, under a name of its own (pytest imports each test module once per process)."""
    path = tmp_path / f"checks_{tmp_path.name.replace('-', '_')}.py"
    path.write_text(textwrap.dedent(MODULE))
    return path


def _report(tmp_path, namespace, items=("double",)):
    path = _module(tmp_path)
    grading = run_checks(local_student(namespace, cuda=False), "demo", items=list(items), module=path)
    return grading, grading.reports()["double"]


def test_outcomes_points_and_messages(tmp_path):
    grading, report = _report(tmp_path, {"double": _double})
    by = {o.name: o for o in report.outcomes}
    assert [o.name for o in report.outcomes][:3] == ["doubles a number", "depends on the first answer", "half right"]
    assert (by["doubles a number"].earned, by["depends on the first answer"].earned) == (2, 1)
    assert (by["half right"].earned, by["half right"].message, by["half right"].status) == (0.5, "only half", "partial")
    assert by["needs a GPU"].earned == 1 and by["needs a GPU"].message == "skipped: no GPU on the grading machine"
    assert by["zero raises ValueError"].earned == 1
    assert by["finishes in time"].earned == 0 and "took longer than 1 s" in by["finishes in time"].message
    assert by["still answers after a slow call"].earned == 1
    assert by["a bug in the check"].status == "error" and by["a bug in the check"].message == GRADER_ERROR
    assert len(grading.errors) == 1 and "KeyError" in grading.errors[0][1]
    assert report.max_score == 9 and report.score == 6.5
    assert "  ~ half right [0.5/1]: only half" in report.text()


def test_a_failed_step_fails_its_owner_and_marks_dependents_not_checked(tmp_path):
    _, report = _report(tmp_path, {"double": lambda x: "two"})
    by = {o.name: o for o in report.outcomes}
    assert by["doubles a number"].message == "double returned str, expected a number"
    assert by["depends on the first answer"].message == "not checked: an earlier step failed"


def test_student_exceptions_are_one_line_and_not_implemented_is_named(tmp_path):
    def broken(x):
        raise RuntimeError("oops\nsecond line")

    def stub(x):
        raise NotImplementedError

    _, report = _report(tmp_path, {"double": broken})
    assert {o.name: o.message for o in report.outcomes}["still answers after a slow call"] == \
        "double(...) raised RuntimeError: oops"
    _, report = _report(tmp_path, {"double": stub})
    assert {o.name: o.message for o in report.outcomes}["zero raises ValueError"] == "not implemented yet"


def test_an_item_that_does_not_exist_earns_nothing_not_even_gpu_points(tmp_path):
    _, report = _report(tmp_path, {})
    assert report.score == 0.5   # only the Partial test, which never looks at the student's code


@pytest.mark.parametrize("seed", [1, 2])
def test_outcomes_do_not_depend_on_test_order(tmp_path, seed):
    path = _module(tmp_path)
    base = run_checks(local_student({"double": _double}, cuda=False), "demo", items=["double"], module=path)
    shuffled = run_checks(local_student({"double": _double}, cuda=False), "demo", items=["double"], module=path,
                          order_seed=seed)
    key = lambda r: [(o.name, o.earned, o.message) for o in r.reports()["double"].outcomes]  # noqa: E731
    assert key(base) == key(shuffled)


def test_a_closed_submission_starts_no_worker():
    """After grading ends nothing (not even reading the reports) may start another worker."""
    from autograder.outcomes import WorkerLost
    from autograder.remote import Student

    started = []
    student = Student(lambda: started.append(1) or local_student({}, cuda=False).start())
    student.start()
    student.close()
    with pytest.raises(WorkerLost):
        student.start()
    assert started == [1] and student.device_seen == "cpu"
