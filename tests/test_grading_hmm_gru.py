"""nbgrader autograde of the hmm_gru sample submissions gives exactly the expected points."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from course_lib.reference import hmm_gru as hmm_ref
from course_lib.training import fit, make_loader

from grading_support import (assert_expected_grades, assert_feedback_clean, assert_mutant_loss_in_checks,
                              assert_mutant_suite_stable,
                              assert_reference_passes_checks, assert_reference_runs_clean)

# Points each mutant must lose, per graded cell (every other cell keeps full marks).
EXPECTED_LOSS = {
    # bad letters become 0 silently; an unknown seqtype raises KeyError, not ValueError; predict encodes
    # with it, so predict accepts bad letters too
    "encode_accepts_any_letter": {"test_encode_seq": 1.5, "test_predict": 0.5},
    "decode_swaps_states": {"test_decode_seq": 1},
    # normalises over positions: rows do not sum to 1, and every output now sees later positions
    "log_softmax_over_positions": {"test_GRUTagger": 2},
    "bidirectional_ignored": {"test_GRUTagger": 1},
    # trains on the 64 validation sequences: too few steps to learn, and the wrong set
    "trains_on_validation_set": {"test_train_tagger": 2.5},
    "predict_returns_log_probs": {"test_predict": 1},
    # wrong values everywhere, so also wrong for lists and arrays
    "fraction_counts_mismatches": {"test_fraction_matches": 2.5},
    "sim_strictly_better": {"test_sim_prob_match": 2},
    "sim_unseeded": {"test_sim_prob_match": 1},
}


@pytest.mark.slow
def test_hmm_gru_autograde_scores():
    assert_expected_grades("hmm_gru", EXPECTED_LOSS)


# what the notebook defines before the answers: its set-up imports and the earlier answers
NAMESPACE = {**vars(hmm_ref), "np": np, "torch": torch, "nn": nn, "F": F, "fit": fit, "make_loader": make_loader}


def test_reference_passes_every_check():
    assert_reference_passes_checks("hmm_gru")


@pytest.mark.parametrize("mutant", sorted(EXPECTED_LOSS))
def test_mutant_loses_expected_points_in_checks(mutant):
    assert_mutant_loss_in_checks("hmm_gru", mutant, EXPECTED_LOSS, NAMESPACE)


@pytest.mark.parametrize("order_seed", [1, 2])
def test_mutant_suite_does_not_depend_on_order_or_random_state(order_seed):
    assert_mutant_suite_stable("hmm_gru", EXPECTED_LOSS, NAMESPACE, order_seed)


@pytest.mark.slow
def test_hmm_gru_reference_notebook_runs_clean_in_fast_mode():
    assert_reference_runs_clean("hmm_gru")


@pytest.mark.slow
def test_hmm_gru_feedback_leaks_nothing():
    assert_feedback_clean("hmm_gru")
