"""Hidden checks and grading tools (instructor only: never shipped to students).

Notebook test cells call `grade("jund", "MLP")` (see `incell`): the pytest checks of
`autograder/checks/jund.py` for item MLP run against the notebook, print one line per
property and return the points, which nbgrader reads as partial credit. The trusted path,
`python -m autograder grade`, runs the same checks in a judge that never executes student
code (see `judge`).
"""


def grade(assignment: str, item: str, namespace=None) -> float:
    """The hidden checks of `item` against the calling notebook's names; prints the report, returns the points."""
    import sys

    from .incell import grade as run
    return run(assignment, item, namespace if namespace is not None else sys._getframe(1).f_globals)


__all__ = ["grade"]
