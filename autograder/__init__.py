"""Hidden checks and grading tools (instructor only: never shipped to students).

Notebook test cells call `grade("jund", "MLP")` (see `incell`): the pytest checks of
`autograder/checks/jund.py` for item MLP run against the notebook, print one line per
property and return the points, which nbgrader reads as partial credit. The trusted path,
`python -m autograder grade`, runs the same checks in a judge that never executes student
code (see `judge`).
"""


def grade(assignment_or_name, item_or_check, namespace=None):
    """`grade(assignment, item)` (pytest checks) or, for notebooks not yet moved, `grade(name, CHECKS[name])`."""
    import sys
    namespace = namespace if namespace is not None else sys._getframe(1).f_globals
    if isinstance(item_or_check, str):
        from .incell import grade as run
    else:
        from .core import grade as run
    return run(assignment_or_name, item_or_check, namespace)


__all__ = ["grade"]
