"""nbgrader autograde of the jund sample submissions gives exactly the expected points."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from grading_support import (assert_expected_grades, assert_feedback_clean, assert_mutant_loss_in_checks,
                              assert_mutant_suite_stable,
                              assert_reference_passes_checks, assert_reference_runs_clean)

# Points each mutant must lose, per graded cell (every other cell keeps full marks).
EXPECTED_LOSS = {
    # unweighted mean: wrong values everywhere, and returns 0.5 instead of raising on zero weights
    "unweighted_accuracy": {"test_weighted_accuracy": 4.5},
    "nan_on_zero_weights": {"test_weighted_accuracy": 1},
    # correct on nothing but the output type
    "sigmoid_before_bce_with_logits": {"test_weighted_bce_loss": 4.5},
    "accessibility_ignored": {"test_MLP": 1},
    # no hidden layer, too few parameters, and too weak to learn the planted site
    "mlp_without_hidden_layer": {"test_MLP": 3.5},
    "cpu_call_in_forward": {"test_CNN": 1},
    # mixes samples across the batch, wrong LSTM option, cannot learn
    "lstm_without_batch_first": {"test_LSTMClassifier": 3.5},
    # the lowest training loss: the largest, longest run, never the validation-best configuration or epoch
    "choose_by_training_loss": {"test_choose_config": 3},
    # the validation-best configuration, but always its last epoch: epochs not chosen on validation
    "choose_last_epoch": {"test_choose_config": 3},
}


@pytest.mark.slow
def test_jund_autograde_scores():
    assert_expected_grades("jund", EXPECTED_LOSS)


@pytest.mark.slow
def test_jund_reference_notebook_runs_clean_in_fast_mode():
    assert_reference_runs_clean("jund")


@pytest.mark.slow
def test_jund_feedback_leaks_nothing():
    assert_feedback_clean("jund")


NAMESPACE = {"np": np, "torch": torch, "nn": nn, "F": F}  # what the notebook's set-up cell imports


def test_reference_passes_every_check():
    assert_reference_passes_checks("jund")


@pytest.mark.parametrize("mutant", sorted(EXPECTED_LOSS))
def test_mutant_loses_expected_points_in_checks(mutant):
    assert_mutant_loss_in_checks("jund", mutant, EXPECTED_LOSS, NAMESPACE)


@pytest.mark.parametrize("order_seed", [1, 2])
def test_mutant_suite_does_not_depend_on_order_or_random_state(order_seed):
    assert_mutant_suite_stable("jund", EXPECTED_LOSS, NAMESPACE, order_seed)


PICK_BY_VALIDATION_LOSS = '''
def choose_config(rows):
    return min(rows, key=lambda r: r["valid_loss"])    # the loss, not the weighted accuracy asked for
'''

PICK_A_SERIES = '''
import pandas as pd

def choose_config(rows):
    table = pd.DataFrame(rows)
    return table.loc[table["valid_weighted_accuracy"].idxmax()]    # a pandas Series, not the row itself
'''


def test_choose_config_honest_pick_passes_and_wrong_picks_fail():
    from autograder.grade_cells import item_points
    from grading_support import local_reports, reference_namespace

    ns = reference_namespace("jund", NAMESPACE)
    honest = local_reports("jund", ns, items=["choose_config"])["choose_config"]
    assert honest.score == honest.max_score == item_points("jund")["choose_config"] == 4, honest.text()
    exec(PICK_BY_VALIDATION_LOSS, ns)
    wrong = local_reports("jund", ns, items=["choose_config"])["choose_config"]
    assert wrong.score == 4 - 3 and "highest validation weighted accuracy was at another row" in wrong.text()
    exec(PICK_A_SERIES, ns)
    series = local_reports("jund", ns, items=["choose_config"])["choose_config"]
    # no row, no points (and pd.DataFrame([]) has no such column: a KeyError, not the ValueError asked for)
    assert series.score == 0 and "return the chosen row itself" in series.text(), series.text()


def test_sweep_tables_separate_the_four_rules():
    from autograder.checks.jund import METRIC, _key, _sweep_rows

    for seed in range(0, 4):
        rows = _sweep_rows(seed)
        best = max(rows, key=lambda r: r[METRIC])
        picks = {_key(best), _key(min(rows, key=lambda r: r["train_loss"])),
                 _key(min(rows, key=lambda r: r["valid_loss"])), _key(best)[:2] + (6,)}
        assert len(picks) == 4 and len(rows) == 36 and len({_key(r) for r in rows}) == 36
