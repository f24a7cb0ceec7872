"""Hidden checks and grading tools (instructor only: never shipped to students).

Notebook test cells call `grade("MLP", check_mlp)`; it runs the check on the
student's object, prints a short per-property report and returns the points,
which nbgrader reads as partial credit.
"""
from .core import Check, CheckFailed, Property, Report, grade

__all__ = ["Check", "CheckFailed", "Property", "Report", "grade"]
