"""The check engine: points, partial credit, isolation, time budgets, never crashing."""
import sys
import time

import numpy as np
import torch

from autograder.core import Check, CheckFailed, Property, grade
from autograder.core import Skipped


def _check():
    def ok(ctx):
        ctx["built"] = True

    def half(ctx):
        return 0.5, "half right"

    def bad(ctx):
        raise CheckFailed("wrong answer")

    def crash(ctx):
        raise ZeroDivisionError("boom")

    def needs_missing(ctx):
        return None

    def noisy(ctx):
        print("to stderr", file=sys.stderr)
        np.random.seed(123)
        torch.manual_seed(123)

    def skipped(ctx):
        raise Skipped("skipped: no GPU")

    return Check("demo", [
        Property("ok", 1, ok, provides=("built",)),
        Property("half", 2, half, needs=("built",)),
        Property("bad", 1, bad),
        Property("crash", 1, crash),
        Property("needs", 1, needs_missing, needs=("never",)),
        Property("noisy", 0.5, noisy),
        Property("skip", 0.5, skipped),
        Property("slow", 1, lambda ctx: time.sleep(5), budget_s=0.2),
    ])


def test_points_partial_credit_and_messages():
    report = _check()(None)
    by = {o.name: o for o in report.outcomes}
    assert report.max_score == 8
    assert report.score == 1 + 1 + 0.5 + 0.5
    assert by["half"].status == "partial" and by["half"].message == "half right"
    assert by["bad"].message == "wrong answer"
    assert by["crash"].message == "raised ZeroDivisionError: boom"
    assert "earlier step failed" in by["needs"].message
    assert by["skip"].status == "skip" and by["skip"].earned == 0.5
    assert by["slow"].message == "took longer than 0.2 s"
    text = report.text()
    assert "demo: 3/8 points" in text and "Traceback" not in text


def test_checks_leave_no_trace(capsys):
    np.random.seed(5)
    torch.manual_seed(5)
    expected_np, expected_torch = np.random.rand(), torch.rand(1)
    np.random.seed(5)
    torch.manual_seed(5)
    _check()(None)
    assert capsys.readouterr().err == ""
    assert np.random.rand() == expected_np and torch.equal(torch.rand(1), expected_torch)


def test_grade_prints_report_and_returns_points(capsys):
    namespace = {"thing": 1}
    assert grade("thing", _check(), namespace) == 3
    assert "demo: 3/8" in capsys.readouterr().out


def test_grade_missing_name_and_broken_check(capsys):
    assert grade("absent", _check(), {}) == 0
    assert "`absent` is not defined" in capsys.readouterr().out

    class Broken(Check):
        def __call__(self, subject):
            raise RuntimeError("internal detail that must not leak")

    broken = Broken("broken", [Property("p", 1, lambda ctx: None)])
    assert grade("x", broken, {"x": 1}) == 0
    out = capsys.readouterr()
    assert "internal detail" not in out.out + out.err
