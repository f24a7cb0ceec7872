"""The hidden grade cells of the source notebooks, rendered from the checks (points live in one place).

Each graded item's points are the sum of its checks' `rubric(points, ...)` markers.
`sync_grade_cells` writes them into the notebook's nbgrader metadata and the cell's text,
so the release, nbgrader's gradebook and the judge's cap all agree with the checks.
Run by `python -m autograder release`; a test fails when a notebook drifts.
"""
from __future__ import annotations

import importlib
from pathlib import Path

import nbformat

from .notebooks import PYTEST_CALL, nbgrader_meta
from .rubric import rubric_of_function

TEMPLATE = '''# Hidden tests check `{item}` more thoroughly when your notebook is graded ({points:g} points).
### BEGIN HIDDEN TESTS
from autograder import grade
grade("{assignment}", "{item}")
### END HIDDEN TESTS'''


def item_points(assignment: str) -> dict:
    """{graded item: total points of its checks} from autograder/checks/<assignment>.py."""
    module = importlib.import_module(f"autograder.checks.{assignment}")
    points = {}
    for obj in vars(module).values():
        item = getattr(obj, "item", None) if isinstance(obj, type) else None
        if not isinstance(item, str) or not obj.__name__.startswith("Test"):
            continue
        total = 0.0
        for name in dir(obj):
            spec = rubric_of_function(getattr(obj, name)) if name.startswith("test") else None
            total += spec.points if spec else 0.0
        points[item] = points.get(item, 0.0) + total
    return points


def has_checks(assignment: str) -> bool:
    return (Path(__file__).parent / "checks" / f"{assignment}.py").exists()


def render(assignment: str, item: str, points: float) -> str:
    return TEMPLATE.format(assignment=assignment, item=item, points=points)


def sync_grade_cells(course_root, assignment: str) -> list:
    """Rewrite each grade cell of the assignment's source notebooks from its checks; return changed paths."""
    if not has_checks(assignment):
        return []
    points = item_points(assignment)
    changed = []
    for path in sorted((Path(course_root) / "source" / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        dirty = False
        for cell in nb.cells:
            meta = nbgrader_meta(cell)
            if cell.cell_type != "code" or not meta.get("grade"):
                continue
            item = _item_of(cell.source, meta.get("grade_id"))
            if item not in points:
                raise ValueError(f"{path.name}: grade cell {meta.get('grade_id')!r} grades {item!r}, which has no "
                                 f"checks in autograder/checks/{assignment}.py")
            text = render(assignment, item, points[item])
            if cell.source != text or float(meta.get("points", -1)) != points[item]:
                cell.source, meta["points"], dirty = text, points[item], True
        if dirty:
            nbformat.write(nb, path)
            changed.append(path)
    return changed


def _item_of(source: str, grade_id) -> str:
    match = PYTEST_CALL.search(source)
    if match is None:
        raise ValueError(f"grade cell {grade_id!r} does not call grade(...)")
    return match.group(2)
