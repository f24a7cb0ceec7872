"""Run the whole nbgrader path for one assignment in a scratch course, once per test session."""
from __future__ import annotations

import functools
import os
import tempfile
from pathlib import Path

from autograder import pipeline
from autograder.answers import items_affected, notebook_namespace


NBGRADER_MUTANTS = 2   # mutants per assignment through nbgrader; COURSE_TEST_ALL_MUTANTS=1: all of them


def nbgrader_sample(assignment: str) -> dict:
    """The sample submissions the nbgrader path grades: reference, blank and a few mutants.

    Every mutant goes through the hidden checks in `test_mutant_loses_expected_points_in_checks`;
    through nbgrader, the reference (full marks in every cell) and the blank (zero in every cell)
    show that each hidden cell calls its check with its points, and a few mutants, chosen to touch
    different cells, show partial scores arriving in the gradebook. All of them: `make demo`.
    """
    subs = pipeline.sample_submissions(assignment)
    if os.environ.get("COURSE_TEST_ALL_MUTANTS") == "1":
        return subs
    chosen, cells = [], set()
    for name in sorted(k for k in subs if k.startswith("mutant-")):
        if len(chosen) < NBGRADER_MUTANTS and not set(subs[name]) & cells:
            chosen.append(name)
            cells |= set(subs[name])
    return {k: v for k, v in subs.items() if not k.startswith("mutant-") or k in chosen}


@functools.lru_cache(maxsize=None)
def graded_course(assignment: str):
    """(course root, {student: {cell: score}}, {cell: max}) after autograding the sample submissions."""
    root = Path(tempfile.mkdtemp(prefix=f"grade-{assignment}-"))
    course = pipeline.course_copy(root / "course", assignment_ids=[assignment])
    pipeline.generate_release(course, assignment)
    pipeline.write_submissions(course, assignment, nbgrader_sample(assignment))
    pipeline.autograde(course, assignment)
    pipeline.generate_feedback(course, assignment)
    return course, pipeline.grades(course, assignment), pipeline.max_points(course, assignment)


def assert_expected_grades(assignment: str, expected_loss: dict) -> None:
    """Reference: full marks; blank: zero; each mutant graded: exactly the listed points lost per cell."""
    _, table, maxima = graded_course(assignment)
    problems = []
    assert set(expected_loss) == set(pipeline.load_mutants(assignment)), \
        "every mutant needs an expected loss (and every expected loss a mutant)"
    for cell, top in maxima.items():
        if table["reference"].get(cell) != top:
            problems.append(f"reference: {cell} scored {table['reference'].get(cell)} of {top}")
        if table["blank"].get(cell) != 0:
            problems.append(f"blank: {cell} scored {table['blank'].get(cell)}, expected 0")
    graded = [m for m in expected_loss if f"mutant-{m}" in table]
    assert graded, "no mutant went through nbgrader"
    for mutant in graded:
        losses, row = expected_loss[mutant], table[f"mutant-{mutant}"]
        for cell, top in maxima.items():
            want = top - losses.get(cell, 0)
            if abs(row.get(cell, -1) - want) > 1e-6:
                problems.append(f"mutant {mutant}: {cell} scored {row.get(cell)}, expected {want}")
    assert not problems, "\n".join(problems)


def assert_reference_runs_clean(assignment: str) -> None:
    """The reference submission (the source notebook's solutions) executes in fast mode without an error."""
    import nbformat

    course, _, _ = graded_course(assignment)
    errors = []
    for path in sorted((course / "autograded" / "reference" / assignment).glob("*.ipynb")):
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    errors.append(f"{path.name} cell {i}: {out.get('ename')}: {out.get('evalue')}")
    assert not errors, "\n".join(errors)


def assert_feedback_clean(assignment: str) -> None:
    """Feedback HTML shows no hidden test code and no line of the hidden checks.

    The blank submission's page must also show no solution at all. The other sample
    submissions contain reference answers themselves, so only hidden-check text and the written
    answers' model answers (never in a submission) count there.
    """
    from leak_scan import HIDDEN_MARKERS, leaks_in_text, model_answer_lines, notebook_text, secret_lines

    course, table, _ = graded_course(assignment)
    everything, checks_only = secret_lines(), secret_lines(include_reference=False)
    pages = sorted((course / "feedback").rglob("*.html"))
    assert len(pages) >= len(table), "every graded submission should get a feedback page"
    for page in pages:
        student = page.relative_to(course / "feedback").parts[0]
        if student == "blank":
            leaks = leaks_in_text(page.read_text(), everything)
        else:  # what the submission itself contains may of course be shown back to its author
            own = {line.strip() for nb in (course / "submitted" / student).rglob("*.ipynb")
                   for line in notebook_text(nb).splitlines()}
            leaks = leaks_in_text(page.read_text(), (checks_only | model_answer_lines()) - own,
                                  markers=HIDDEN_MARKERS)
        assert leaks == [], f"{page}: {leaks[:3]}"


def assert_reference_passes_checks(assignment: str, namespace: dict | None = None) -> None:
    """Every hidden check gives the reference solution full points (checks alone, no nbgrader)."""
    for item, report in local_reports(assignment, notebook_namespace(assignment, namespace)).items():
        assert report.score == report.max_score, report.text()


def assert_mutant_loss_in_checks(assignment: str, mutant: str, expected_loss: dict, namespace: dict) -> None:
    """One mutant loses exactly its expected points when its code goes through the checks directly.

    Quick (no nbgrader, no sandbox), and the failure message is the report, naming the property it trips.
    `namespace` holds the names the notebook's set-up cell imports (np, torch, nn, …). The answers are
    defined as in the student's notebook (`notebook_namespace`), and the items checked are the mutant's
    and every later answer that uses them (`items_affected`), so the losses are those the runner gives.
    """
    mutants = pipeline.load_mutants(assignment)
    assert set(expected_loss) == set(mutants) and len(mutants) >= 5, "one expectation per mutant, at least 5"
    ns = notebook_namespace(assignment, namespace, mutants[mutant])
    for item, report in local_reports(assignment, ns, items=items_affected(assignment, mutants[mutant])).items():
        lost = round(report.max_score - report.score, 4)
        assert lost == expected_loss[mutant].get(f"test_{item}", 0), report.text()


# ------------------------------------------------------------------ the hidden checks, in this process
def local_reports(assignment: str, namespace: dict, items=None, order_seed=None) -> dict:
    """{item: Report} of the hidden checks run in this process against `namespace` (no sandbox: quick)."""
    import torch

    from autograder.judge import run_checks
    from autograder.remote import local_student

    threads = torch.get_num_threads()
    torch.set_num_threads(1)        # as the worker and the grade cells do: small models train faster on a shared CPU
    try:
        with tempfile.TemporaryDirectory(prefix="checks-") as scratch:   # a scratch folder, as they have
            grading = run_checks(local_student(dict(namespace), scratch=scratch), assignment, items=items,
                                 order_seed=order_seed)
    finally:
        torch.set_num_threads(threads)
    assert not grading.errors, "a check crashed:\n" + "\n".join(tb for _, tb in grading.errors)
    return grading.reports()


def reference_namespace(assignment: str, namespace: dict | None = None) -> dict:
    """The notebook's set-up names plus every graded item taken from the reference solution."""
    import importlib

    from autograder.grade_cells import item_points

    ref = importlib.import_module(f"course_lib.reference.{assignment}")
    return {**(namespace or {}), **{item: getattr(ref, item) for item in item_points(assignment)}}


def mutant_losses(assignment: str, namespace: dict, order_seed=None) -> dict:
    """{mutant: {"test_<item>": points lost}} for every mutant, run through the checks in this process."""
    import random

    losses, mutants = {}, pipeline.load_mutants(assignment)
    order = sorted(mutants)
    if order_seed is not None:
        random.Random(order_seed).shuffle(order)
    for mutant in order:
        ns = notebook_namespace(assignment, namespace, mutants[mutant])
        reports = local_reports(assignment, ns, items=items_affected(assignment, mutants[mutant]),
                                order_seed=order_seed)
        losses[mutant] = {f"test_{item}": round(r.max_score - r.score, 4) for item, r in reports.items()
                          if r.max_score - r.score > 1e-9}
    return losses


def assert_mutant_suite_stable(assignment: str, expected_loss: dict, namespace: dict, order_seed: int) -> None:
    """The whole mutant suite, its tests shuffled and the global random state scrambled first, loses
    exactly the expected points: no outcome depends on test order or on random state."""
    import random

    import numpy as np
    import torch

    random.seed(order_seed * 7919)
    np.random.seed(order_seed * 104729 % 2**32)
    torch.manual_seed(order_seed * 1299709)
    want = {m: {k: v for k, v in losses.items() if v} for m, losses in expected_loss.items()}
    assert mutant_losses(assignment, namespace, order_seed=order_seed) == want
