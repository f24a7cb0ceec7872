"""Reading submitted notebooks and matching them to an assignment's source notebook."""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

PYTEST_CALL = re.compile(r"grade\(\s*[\"'](\w+)[\"']\s*,\s*[\"'](\w+)[\"']\s*\)")


class InvalidSubmission(ValueError):
    """A submitted file that cannot be graded; the message is the reason shown in the grade table."""


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


MAX_NOTEBOOK_MB = 100


def read_submission(path) -> nbformat.NotebookNode:
    """Read a submitted notebook; InvalidSubmission('not valid JSON' / 'empty' / …) otherwise."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_NOTEBOOK_MB << 20:
            raise InvalidSubmission(f"{path.name} is larger than {MAX_NOTEBOOK_MB} MB: clear its outputs "
                                    "(Edit > Clear All Outputs) and submit it again")
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidSubmission(f"cannot read {path.name}: {exc.strerror}") from None
    if not raw.strip():
        raise InvalidSubmission(f"{path.name} is empty")
    text = raw.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidSubmission(f"{path.name} is not valid JSON (line {exc.lineno}): is it a notebook?") from None
    if not isinstance(data, dict) or "cells" not in data:
        raise InvalidSubmission(f"{path.name} is JSON but not a Jupyter notebook (no 'cells')")
    try:
        nb = nbformat.reads(text, as_version=4)  # joins multi-line sources, upgrades old formats
    except Exception as exc:
        raise InvalidSubmission(f"{path.name} is not a readable notebook ({type(exc).__name__})") from None
    if not nb.cells:
        raise InvalidSubmission(f"{path.name} has no cells")
    return nb


@dataclass(frozen=True)
class GradedCell:
    """A hidden grade cell of a source notebook and the check it calls."""
    grade_id: str
    points: float
    module: str                 # the assignment whose checks it runs
    name: str                   # the graded item


def graded_cells(source_nb) -> list:
    """The source notebook's grade cells, each with the autograder module and CHECKS key it calls."""
    out = []
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if not meta.get("grade") or meta.get("solution") or cell.cell_type != "code":
            continue   # written answers (grade and solution) are graded by hand: see manual_cells
        call = PYTEST_CALL.search(cell.source)
        if not call:
            raise ValueError(f"grade cell {meta.get('grade_id')!r} does not call grade(assignment, item)")
        out.append(GradedCell(meta["grade_id"], float(meta["points"]), call.group(1), call.group(2)))
    return out


@dataclass(frozen=True)
class ManualCell:
    """A written answer of a source notebook: nbgrader's manually graded cell (grade and solution)."""
    grade_id: str
    points: float


def is_manual(cell) -> bool:
    meta = nbgrader_meta(cell)
    return bool(meta.get("grade") and meta.get("solution"))


def manual_cells(source_nb) -> list:
    """The written answers TAs grade by hand (in nbgrader's formgrader); the runner never scores them."""
    return [ManualCell(nbgrader_meta(c)["grade_id"], float(nbgrader_meta(c)["points"]))
            for c in source_nb.cells if is_manual(c)]


def solution_ids(nb) -> set:
    return {nbgrader_meta(c)["grade_id"] for c in nb.cells if nbgrader_meta(c).get("solution")}


def check_same_assignment(submitted_nb, source_nb, assignment: str) -> None:
    """InvalidSubmission if the submission shares no solution cell with the assignment's notebook."""
    if not solution_ids(submitted_nb) & solution_ids(source_nb):
        raise InvalidSubmission(f"this notebook is not from assignment {assignment!r} "
                                "(none of its answer cells are there)")


def cells_to_run(source_nb, submitted_nb, solutions: bool = True) -> list:
    """(label, code) of the cells that define the student's answers, in the source order.

    Locked and provided cells come from the source notebook (edits and deletions are undone),
    answer cells from the submission (a deleted answer cell counts as not answered); the
    student's free cells and every grade cell are left out. `solutions=False` leaves the
    answer cells out too (the notebook's own code only).
    """
    answers = {nbgrader_meta(c).get("grade_id"): c.source for c in submitted_nb.cells
               if c.cell_type == "code" and nbgrader_meta(c).get("solution")}
    out = []
    for cell in source_nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type != "code" or not meta or meta.get("grade"):
            continue
        gid = meta.get("grade_id", "")
        if meta.get("solution"):
            if solutions:
                out.append((gid, answers.get(gid, "raise NotImplementedError()")))
        else:
            out.append((gid, cell.source))
    return out
