"""How a hidden check declares what it is worth: pytest markers that read like a rubric.

    @graded("weighted_accuracy")
    class TestWeightedAccuracy:
        @rubric(2, "matches the definition on random labels and weights")
        def test_matches_definition(self, subject): ...

`rubric(points, title)` marks one property: its points (the only place they are written),
the line the student reads, a time budget, and whether it needs a GPU. `graded(item)` ties a
test class to the notebook's graded item. `step` makes a class-scoped fixture whose failure
is reported once, by the test that owns it, while the tests that need it are "not checked".
"""
from __future__ import annotations

import functools
import inspect
import itertools
from dataclasses import dataclass

import pytest

from .outcomes import NotChecked

DEFAULT_BUDGET_S = 30.0
_order = itertools.count()


@dataclass(frozen=True)
class Rubric:
    points: float
    title: str
    budget_s: float = DEFAULT_BUDGET_S
    gpu: bool = False
    order: int = 0


def rubric(points: float, title: str, *, budget_s: float = DEFAULT_BUDGET_S, gpu: bool = False):
    """Mark a test as one graded property worth `points`, shown to the student as `title`."""
    spec = Rubric(float(points), title, float(budget_s), gpu, next(_order))

    def mark(fn):
        return pytest.mark.rubric(spec)(fn)
    return mark


def graded(item: str):
    """Class decorator: the tests of this class grade the notebook's item `item`."""
    def mark(cls):
        cls.item = item
        return pytest.mark.item(item)(cls)
    return mark


def rubric_of(node) -> Rubric | None:
    marker = node.get_closest_marker("rubric")
    return marker.args[0] if marker else None


def item_of(node) -> str | None:
    marker = node.get_closest_marker("item")
    return marker.args[0] if marker else None


class Attempt:
    """The result of a step, or the error it raised: `value` re-raises it, `needed` says "not checked"."""

    def __init__(self, value=None, error: BaseException | None = None):
        self._value, self.error = value, error

    @property
    def value(self):
        if self.error is not None:
            raise self.error
        return self._value

    @property
    def needed(self):
        if self.error is not None:
            raise NotChecked()
        return self._value

    @property
    def ok(self) -> bool:
        return self.error is None


def step(budget_s: float = 60.0):
    """Decorator: a class-scoped fixture computed once, under its own budget, returned as an `Attempt`.

    The fixture function must take `student` as a parameter. Its outcome does not depend on
    which test happens to need it first.
    """
    def decorate(fn):
        params = list(inspect.signature(fn).parameters)
        if "student" not in params:
            raise TypeError(f"step {fn.__name__} must take the `student` fixture")

        @functools.wraps(fn)
        def fixture(*args, **kwargs):
            student = kwargs.get("student", args[params.index("student")] if len(args) > params.index("student")
                                 else None)
            try:
                with student.budget(budget_s):
                    return Attempt(fn(*args, **kwargs))
            except Exception as exc:  # reported by the owning test, "not checked" for the others
                return Attempt(error=exc)
        return pytest.fixture(scope="class")(fixture)
    return decorate


def rubric_of_function(fn) -> Rubric | None:
    """The rubric marker of a test function (before pytest collects it)."""
    for mark in getattr(fn, "pytestmark", []):
        if mark.name == "rubric":
            return mark.args[0]
    return None
