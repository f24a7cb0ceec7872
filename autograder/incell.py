"""The notebooks' hidden test cells: `grade("jund", "MLP")`, run by `nbgrader autograde` in the student's kernel.

The same pytest checks as the judge's run here, against the kernel's own namespace through
an in-process worker session (`remote.LocalChannel`): values make the same encode/decode
round trip, so scores match the judge's. This path is convenient but not tamper-proof:
the student's code shares this process. `python -m autograder grade` is the trusted one.

The cell prints the item's report and returns its points (nbgrader reads them as partial
credit); it never raises and writes nothing to stderr (nbgrader gives such a cell zero).
"""
from __future__ import annotations

import math
import os
import sys
import tempfile
import traceback

from .outcomes import GRADER_ERROR


def grade(assignment: str, item: str, namespace: dict | None = None) -> float:
    """Run the hidden checks of `item` against the caller's namespace; print the report; return the points."""
    if namespace is None:
        namespace = sys._getframe(1).f_globals
    try:
        report = _report(assignment, item, namespace)
        text, score = report.text(), report.score
        for nodeid, tb in getattr(report, "errors", []):
            _log(f"check {nodeid} crashed\n{tb}")
    except Exception:  # a bug on the grader's side must not cost the cell
        _log(f"checks of {assignment}.{item} could not run\n{traceback.format_exc()}")
        text, score = f"{item}: {GRADER_ERROR}", 0.0
    print(text)
    return score if math.isfinite(score) else 0.0


def _report(assignment: str, item: str, namespace: dict):
    import torch
    from gradeworker.session import preserved_state

    from .judge import run_checks
    from .outcomes import Report
    from .remote import local_student

    with tempfile.TemporaryDirectory(prefix="checks-") as scratch, preserved_state():
        student = local_student(namespace, scratch=scratch)   # RNGs and grad mode: restored once, around it all
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            grading = run_checks(student, assignment, items=[item])
        finally:
            torch.set_num_threads(threads)
    report = grading.reports().get(item) or Report(item, [])
    report.errors = grading.errors
    return report


def _log(text: str) -> None:
    """Append to $AUTOGRADER_LOG (instructor-side), never to the notebook."""
    path = os.environ.get("AUTOGRADER_LOG")
    if path:
        with open(path, "a") as fh:
            fh.write(f"--- {text}\n")
