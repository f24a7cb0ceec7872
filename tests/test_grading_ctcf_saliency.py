"""Grading of ctcf_saliency: the reference earns every point, the blank release none, and each
known-wrong submission (autograder/mutants/ctcf_saliency.py) loses exactly the points listed here."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder.mutants.ctcf_saliency import MUTANTS
from grading_support import (assert_expected_grades, assert_feedback_clean, assert_reference_runs_clean,
                              assert_mutant_loss_in_checks, assert_mutant_suite_stable, assert_reference_passes_checks)

# Points each mutant must lose, per graded cell (every other cell keeps full marks).
EXPECTED_LOSS = {
    "saliency_of_sigmoid": {"test_saliency_map": 2},            # values differ from d(logit)/dX
    "saliency_in_train_mode": {"test_saliency_map": 1.5},       # dropout on: map changes with the mode
    "saliency_leaves_eval_mode": {"test_saliency_map": 1},      # model comes back in eval mode
    "early_stopping_never_restores": {"test_EarlyStopping": 2},
    "early_stopping_keeps_a_reference": {"test_EarlyStopping": 2},   # the "best" state trained on
    "early_stopping_one_epoch_late": {"test_EarlyStopping": 3},      # all three stopping properties
    "mononucleotide_shuffle": {"test_dinucleotide_shuffle": 3},      # counts, and so uniformity, broken
    # still learns, but the layer is wrong; the reference CTCFNetRegularized subclasses it and inherits that
    "no_same_padding": {"test_CTCFNet": 1.5, "test_CTCFNetRegularized": 1.5},
    "regularized_without_dropout": {"test_CTCFNetRegularized": 1.5},
}


NAMESPACE = {"np": np, "torch": torch, "nn": nn, "F": F, "copy": copy}  # what the notebook's set-up cell imports


def test_reference_passes_every_check():
    assert_reference_passes_checks("ctcf_saliency")


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_loses_expected_points_in_checks(mutant):
    assert_mutant_loss_in_checks("ctcf_saliency", mutant, EXPECTED_LOSS, NAMESPACE)


@pytest.mark.slow
def test_ctcf_saliency_autograde_scores():
    assert_expected_grades("ctcf_saliency", EXPECTED_LOSS)


@pytest.mark.slow
def test_ctcf_saliency_reference_notebook_runs_clean_in_fast_mode():
    assert_reference_runs_clean("ctcf_saliency")


@pytest.mark.slow
def test_ctcf_saliency_feedback_leaks_nothing():
    assert_feedback_clean("ctcf_saliency")


@pytest.mark.parametrize("order_seed", [1, 2])
def test_mutant_suite_does_not_depend_on_order_or_random_state(order_seed):
    assert_mutant_suite_stable("ctcf_saliency", EXPECTED_LOSS, NAMESPACE, order_seed)


def test_grading_ignores_a_students_data_path():
    """DATA_PATH lives in a provided cell students may edit; grading runs the source's version of it."""
    import nbformat

    from autograder.notebooks import cells_to_run
    from leak_scan import REPO

    source = nbformat.read(REPO / "source/ctcf_saliency/ctcf_saliency.ipynb", as_version=4)
    submitted = nbformat.read(REPO / "release/ctcf_saliency/ctcf_saliency.ipynb", as_version=4)
    (cell,) = [c for c in submitted.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "data_path"]
    assert not cell.metadata["nbgrader"]["locked"] and "DATA_PATH = None" in cell.source
    cell.source = 'DATA_PATH = "/home/me/CTCF_200.h5"'
    run = dict(cells_to_run(source, submitted))
    assert run["data_path"].startswith("DATA_PATH = None")
    assert list(run).index("data_path") < list(run).index("setup"), "defined before the cell that reads it"
