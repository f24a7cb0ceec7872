"""Every sample submission of every assignment through the trusted runner (opt-in: `make test-all`).

CI sends every mutant through the hidden checks (tests/test_grading_<a>.py) and a few through the
runner and nbgrader; this file, with COURSE_TEST_ALL_MUTANTS=1, sends all of them through the
sandboxed runner: the reference earns every point, the blank none, each mutant exactly its
expected losses (the same table the checks and nbgrader are held to).
"""
import importlib
import os
import tempfile
from pathlib import Path

import pytest

from autograder import pipeline, runner

pytestmark = [pytest.mark.slow, pytest.mark.skipif(
    os.environ.get("COURSE_TEST_ALL_MUTANTS") != "1",
    reason="every mutant through the runner takes ~15 min on 2 cores: make test-all (COURSE_TEST_ALL_MUTANTS=1)")]


@pytest.mark.parametrize("assignment", pipeline.assignments())
def test_every_sample_submission_earns_its_expected_score(assignment):
    expected = importlib.import_module(f"test_grading_{assignment}").EXPECTED_LOSS
    course = pipeline.course_copy(Path(tempfile.mkdtemp(prefix=f"all-{assignment}-")) / "course",
                                  assignment_ids=[assignment])
    pipeline.generate_release(course, assignment)
    pipeline.write_submissions(course, assignment, pipeline.sample_submissions(assignment))
    files = {s.name: {p.name: p for p in (s / assignment).glob("*.ipynb")}
             for s in sorted((course / "submitted").iterdir())}
    results = {r.student: r for r in runner.grade_batch(files, assignment, course_root=course)}
    problems = []
    for student, r in results.items():
        losses = {} if student == "reference" else expected.get(student.removeprefix("mutant-"))
        for c in r.cells:
            want = 0 if student == "blank" else c["max_score"] - losses.get(c["grade_id"], 0)
            if abs(c["score"] - want) > 1e-6:
                problems.append(f"{student}: {c['grade_id']} scored {c['score']}, expected {want} ({c['output'][:200]})")
        if r.status == "grader-error":
            problems.append(f"{student}: grader error {r.grader_errors[:1]}")
    assert set(results) == {"reference", "blank", *(f"mutant-{m}" for m in expected)}
    assert not problems, "\n".join(problems)
