"""nbgrader autograde of the hmm_gru sample submissions gives exactly the expected points."""
import pytest

from grading_support import assert_expected_grades

# Points each mutant must lose, per graded cell (every other cell keeps full marks).
EXPECTED_LOSS = {
    # bad letters become 0 silently; an unknown seqtype raises KeyError, not ValueError
    "encode_accepts_any_letter": {"test_encode_seq": 1.5},
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
