"""Grading of ctcf_saliency: the reference earns every point, the blank release none, and each
known-wrong submission (autograder/mutants/ctcf_saliency.py) loses exactly the points listed here."""
import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from autograder import pipeline
from autograder.ctcf_saliency import CHECKS
from autograder.mutants.ctcf_saliency import MUTANTS
from course_lib.reference import ctcf_saliency as ref

ASSIGNMENT = "ctcf_saliency"

EXPECTED_LOSS = {
    "saliency_of_sigmoid": {"test_saliency_map": 2},
    "saliency_in_train_mode": {"test_saliency_map": 1.5},
    "saliency_leaves_eval_mode": {"test_saliency_map": 1},
    "early_stopping_never_restores": {"test_EarlyStopping": 2},
    "early_stopping_keeps_a_reference": {"test_EarlyStopping": 2},
    "early_stopping_one_epoch_late": {"test_EarlyStopping": 3},
    "mononucleotide_shuffle": {"test_dinucleotide_shuffle": 3},
    "no_same_padding": {"test_CTCFNet": 1.5},
    "regularized_without_dropout": {"test_CTCFNetRegularized": 1.5},
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
        namespace = {"np": np, "torch": torch, "nn": nn, "F": F, "copy": copy}
        exec(source, namespace)
        report = CHECKS[grade_id](namespace[grade_id])
        lost = round(report.max_score - report.score, 4)
        assert lost == EXPECTED_LOSS[mutant][f"test_{grade_id}"], report.text()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = pipeline.course_copy(tmp_path_factory.mktemp("grading") / "course", assignment_ids=[ASSIGNMENT])
    pipeline.generate_release(course, ASSIGNMENT)
    pipeline.write_submissions(course, ASSIGNMENT, pipeline.sample_submissions(ASSIGNMENT))
    pipeline.autograde(course, ASSIGNMENT)
    return pipeline.grades(course, ASSIGNMENT), pipeline.max_points(course, ASSIGNMENT)


@pytest.mark.slow
def test_points_in_notebook_match_checks(graded):
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
