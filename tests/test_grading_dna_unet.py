"""Grading of dna_unet (two notebooks): the reference earns every point, the blank release none, and
each known-wrong submission (autograder/mutants/dna_unet.py) loses exactly the points listed here."""
import copy

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import Dataset

from autograder import pipeline
from autograder.grade_cells import item_points
from autograder.mutants.dna_unet import MUTANTS
from grading_support import (assert_expected_grades, assert_feedback_clean, assert_mutant_loss_in_checks,
                              assert_mutant_suite_stable,
                              assert_reference_passes_checks, assert_reference_runs_clean)
from course_lib.data.nuclei import read_image, read_mask

pytestmark = pytest.mark.usefixtures("one_thread")

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


def test_reference_passes_every_check():
    assert_reference_passes_checks(ASSIGNMENT)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_loses_expected_points_in_checks(mutant):
    assert_mutant_loss_in_checks(ASSIGNMENT, mutant, EXPECTED_LOSS, NAMESPACE)


@pytest.mark.parametrize("order_seed", [1, 2])
def test_mutant_suite_does_not_depend_on_order_or_random_state(order_seed):
    assert_mutant_suite_stable(ASSIGNMENT, EXPECTED_LOSS, NAMESPACE, order_seed)


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
    assert {f"test_{name}" for name in item_points(ASSIGNMENT)} <= set(graded_ids)


@pytest.mark.slow
def test_points_in_notebooks_match_checks():
    maxima = pipeline.max_points(pipeline.REPO_ROOT, ASSIGNMENT)
    assert maxima == {f"test_{name}": points for name, points in item_points(ASSIGNMENT).items()}


@pytest.mark.slow
def test_dna_unet_autograde_scores():
    assert_expected_grades(ASSIGNMENT, EXPECTED_LOSS)


@pytest.mark.slow
def test_dna_unet_reference_notebooks_run_clean_in_fast_mode():
    assert_reference_runs_clean(ASSIGNMENT)


@pytest.mark.slow
def test_dna_unet_feedback_leaks_nothing():
    assert_feedback_clean(ASSIGNMENT)
