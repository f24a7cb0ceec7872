"""Grading of rnacompete: the reference earns every point, the blank release none, and each
known-wrong submission (autograder/mutants/rnacompete.py) loses exactly the points listed here."""
import numpy as np
import pytest
import torch
from torch import nn

from autograder.mutants.rnacompete import MUTANTS
from autograder.rnacompete import CHECKS
from course_lib.reference import rnacompete as ref
from grading_support import assert_expected_grades

EXPECTED_LOSS = {
    # wrong on random masks, on ties, on garbage in masked entries, and returns a value for one entry
    "spearman_without_mask": {"test_masked_spearman": 5},
    # right masking, wrong statistic: fails the SciPy comparisons (continuous and tied)
    "pearson_not_spearman": {"test_masked_spearman": 3.5},
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
        namespace = {"np": np, "torch": torch, "nn": nn}
        exec(source, namespace)
        report = CHECKS[grade_id](namespace[grade_id])
        lost = round(report.max_score - report.score, 4)
        assert lost == EXPECTED_LOSS[mutant][f"test_{grade_id}"], report.text()


def test_missing_objects_score_zero():
    for name, check in CHECKS.items():
        assert check.missing("not defined").score == 0


@pytest.mark.slow
def test_rnacompete_autograde_scores():
    assert_expected_grades("rnacompete", EXPECTED_LOSS)
