"""Grading of rnacompete: the reference earns every point, the blank release none, and each
known-wrong submission (autograder/mutants/rnacompete.py) loses exactly the points listed here."""
import numpy as np
import pytest
import torch
from torch import nn

from autograder.mutants.rnacompete import MUTANTS
from grading_support import (assert_expected_grades,
                              assert_mutant_loss_in_checks, assert_mutant_suite_stable, assert_reference_passes_checks)

EXPECTED_LOSS = {
    # wrong on random masks, on ties, on garbage in masked entries, and returns a value for one entry;
    # the notebook's train selects and reports with it, so what train returns is not the saved weights' Spearman
    "spearman_without_mask": {"test_masked_spearman": 5, "test_train": 2},
    # right masking, wrong statistic: fails the SciPy comparisons (continuous and tied), and train's as above
    "pearson_not_spearman": {"test_masked_spearman": 3.5, "test_train": 2},
    "ordinal_ranks_for_ties": {"test_masked_spearman": 1.5},
    # everything but the output type
    "mse_over_masked_entries": {"test_masked_mse_loss": 4.5},
    # 0 * nan = nan, and 0 / 0 for an empty mask
    "mse_nan_unsafe": {"test_masked_mse_loss": 2},
    # the first LSTM step never sees the 3' half of the probe: cannot learn the planted sites
    "convlstm_first_step": {"test_ConvLSTM": 1.5},
    # the "best" state dict is a live view, so the checkpoint holds the last epoch's weights
    "train_state_dict_alias": {"test_train": 2},
}


NAMESPACE = {"np": np, "torch": torch, "nn": nn}  # what the notebook's set-up cell imports


def test_reference_passes_every_check():
    assert_reference_passes_checks("rnacompete")


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_mutant_loses_expected_points_in_checks(mutant):
    assert_mutant_loss_in_checks("rnacompete", mutant, EXPECTED_LOSS, NAMESPACE)


@pytest.mark.slow
def test_rnacompete_autograde_scores():
    assert_expected_grades("rnacompete", EXPECTED_LOSS)


@pytest.mark.parametrize("order_seed", [1, 2])
def test_mutant_suite_does_not_depend_on_order_or_random_state(order_seed):
    assert_mutant_suite_stable("rnacompete", EXPECTED_LOSS, NAMESPACE, order_seed)
