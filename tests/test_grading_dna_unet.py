"""Grading of dna_unet (two notebooks): the reference earns every point, the blank release none, and
each known-wrong submission (autograder/mutants/dna_unet.py) loses exactly the points listed here."""
import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from autograder import pipeline
from autograder.dna_unet import CHECKS
from autograder.mutants.dna_unet import MUTANTS
from course_lib.data.nuclei import read_image, read_mask
from course_lib.reference import dna_unet as ref

ASSIGNMENT = "dna_unet"

EXPECTED_LOSS = {
    # depends on the forward direction; the forward state has forgotten base 0; cannot learn an early site
    "forward_direction_state": {"test_LSTMSeq": 3.5},
    # backward state after one base: ignores the first base, cannot learn an early site
    "last_output_step": {"test_LSTMSeq": 2},
    # outputs squeezed into (0.5, 0.73): not probabilities, and too flat to learn in 200 steps
    "sigmoid_twice": {"test_LSTMSeq": 2.5},
    "n_as_zeros": {"test_one_hot_encode": 1},
    "train_without_clipping": {"test_train": 0.5},
    "validate_in_train_mode": {"test_validate": 1.5},
    "evaluate_returns_tensors": {"test_evaluate": 2},
    "rotate_image_only": {"test_ImageDataset": 2},
    # wrong values on small masks, nan on empty ones, wrong for an inverted mask, wrong gradient
    "dice_without_smoothing": {"test_dice_loss": 4},
}

# names the notebooks' setup cells import, which the mutants' code uses
NAMESPACE = {"np": np, "torch": torch, "nn": nn, "Dataset": Dataset, "copy": copy,
             "read_image": read_image, "read_mask": read_mask}


@pytest.fixture(autouse=True)
def _one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_every_mutant_has_an_expectation():
    assert set(EXPECTED_LOSS) == set(MUTANTS)
    assert len(MUTANTS) >= 5


def test_reference_passes_every_check():
    for name, check in CHECKS.items():
        report = check(getattr(ref, name))
        assert report.score == report.max_score, report.text()


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_loses_expected_points_in_checks(mutant):
    """The checks alone, without nbgrader: quick, and says which property a mutant trips."""
    for grade_id, source in MUTANTS[mutant].items():
        namespace = dict(NAMESPACE)
        exec(source, namespace)
        report = CHECKS[grade_id](namespace[grade_id])
        lost = round(report.max_score - report.score, 4)
        assert lost == EXPECTED_LOSS[mutant][f"test_{grade_id}"], report.text()


def test_grade_ids_are_unique_across_both_notebooks():
    """Solution and graded cells are looked up by grade_id across the assignment: no id may repeat."""
    import nbformat

    graded_ids = []
    for path in pipeline.source_notebooks(pipeline.REPO_ROOT, ASSIGNMENT):
        nb = nbformat.read(path, as_version=4)
        meta = [c.metadata["nbgrader"] for c in nb.cells if "nbgrader" in c.metadata]
        ids = [m["grade_id"] for m in meta]
        assert len(ids) == len(set(ids)), path.name
        graded_ids += [m["grade_id"] for m in meta if m.get("solution") or m.get("grade")]
    assert len(graded_ids) == len(set(graded_ids))
    assert {f"test_{name}" for name in CHECKS} <= set(graded_ids)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = pipeline.course_copy(tmp_path_factory.mktemp("grading") / "course", assignment_ids=[ASSIGNMENT])
    pipeline.generate_release(course, ASSIGNMENT)
    pipeline.write_submissions(course, ASSIGNMENT, pipeline.sample_submissions(ASSIGNMENT))
    pipeline.autograde(course, ASSIGNMENT)
    return pipeline.grades(course, ASSIGNMENT), pipeline.max_points(course, ASSIGNMENT)


@pytest.mark.slow
def test_points_in_notebooks_match_checks(graded):
    _, maxima = graded
    assert maxima == {f"test_{name}": check.max_score for name, check in CHECKS.items()}


@pytest.mark.slow
def test_reference_full_marks_and_blank_zero(graded):
    table, maxima = graded
    assert table["reference"] == pytest.approx(maxima)
    assert sum(table["blank"].values()) == 0


@pytest.mark.slow
@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_loses_exactly_expected_points(graded, mutant):
    table, maxima = graded
    lost = {cell: round(maxima[cell] - score, 4) for cell, score in table[f"mutant-{mutant}"].items()
            if maxima[cell] - score > 1e-9}
    assert lost == EXPECTED_LOSS[mutant]
