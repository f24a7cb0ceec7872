"""Run the whole nbgrader path for one assignment in a scratch course, once per test session."""
from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from autograder import pipeline


@functools.lru_cache(maxsize=None)
def graded_course(assignment: str):
    """(course root, {student: {cell: score}}, {cell: max}) after autograding every sample submission."""
    root = Path(tempfile.mkdtemp(prefix=f"grade-{assignment}-"))
    course = pipeline.course_copy(root / "course", assignment_ids=[assignment])
    pipeline.generate_release(course, assignment)
    pipeline.write_submissions(course, assignment, pipeline.sample_submissions(assignment))
    pipeline.autograde(course, assignment)
    return course, pipeline.grades(course, assignment), pipeline.max_points(course, assignment)


def assert_expected_grades(assignment: str, expected_loss: dict) -> None:
    """Reference: full marks; blank: zero; each mutant: exactly the listed points lost per cell."""
    _, table, maxima = graded_course(assignment)
    problems = []
    assert set(expected_loss) == set(pipeline.load_mutants(assignment)), \
        "every mutant needs an expected loss (and every expected loss a mutant)"
    for cell, top in maxima.items():
        if table["reference"].get(cell) != top:
            problems.append(f"reference: {cell} scored {table['reference'].get(cell)} of {top}")
        if table["blank"].get(cell) != 0:
            problems.append(f"blank: {cell} scored {table['blank'].get(cell)}, expected 0")
    for mutant, losses in expected_loss.items():
        row = table[f"mutant-{mutant}"]
        for cell, top in maxima.items():
            want = top - losses.get(cell, 0)
            if abs(row.get(cell, -1) - want) > 1e-6:
                problems.append(f"mutant {mutant}: {cell} scored {row.get(cell)}, expected {want}")
    assert not problems, "\n".join(problems)
