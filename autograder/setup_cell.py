"""The locked first cell of every notebook, rendered from course_config.json.

`sync_setup_cells` writes it into each source notebook (grade_id `course_setup`), so that
`nbgrader generate_assignment` carries it into the release. Run by `python -m autograder release`.
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat

from course_lib.setup import SETUP_CELL_TEMPLATE as TEMPLATE

CELL_ID = "course_setup"


def load_config(course_root) -> dict:
    return json.loads((Path(course_root) / "course_config.json").read_text())


def render(assignment: str, config: dict) -> str:
    data = config.get("data", {}).get(assignment, {})
    return TEMPLATE.format(lib_url=config.get("course_lib_url", ""), data_url=data.get("url", ""),
                           sha256=data.get("sha256", ""), assignment=assignment)


def setup_cell(assignment: str, config: dict):
    cell = nbformat.v4.new_code_cell(render(assignment, config))
    cell.id = CELL_ID
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": CELL_ID, "locked": True, "schema_version": 3,
                                 "solution": False, "task": False}
    return cell


def sync_setup_cells(course_root, assignment: str) -> list:
    """Put the rendered set-up cell first in each source notebook of `assignment`; return changed paths."""
    config = load_config(course_root)
    changed = []
    for path in sorted((Path(course_root) / "source" / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        want = setup_cell(assignment, config)
        first = nb.cells[0] if nb.cells else None
        if first is not None and first.get("metadata", {}).get("nbgrader", {}).get("grade_id") == CELL_ID:
            if first.source == want.source:
                continue
            first.source = want.source
        else:
            nb.cells.insert(0, want)
        nbformat.write(nb, path)
        changed.append(path)
    return changed
