"""The reference dinucleotide shuffle keeps dinucleotide counts exactly and samples every valid arrangement
alike; the student build's Markov resampler (what the synthetic negatives use) keeps them on average only."""
import itertools
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from course_lib.motifs import markov_resample
from course_lib.reference.ctcf_saliency import dinucleotide_shuffle, shuffle_indices


def pair_counts(seq) -> Counter:
    seq = list(seq)
    return Counter(zip(seq[:-1], seq[1:]))


def test_counts_preserved_on_many_random_sequences():
    rng = np.random.default_rng(0)
    for trial in range(500):
        n = int(rng.integers(1, 300))
        probs = rng.dirichlet(np.ones(5) * rng.uniform(0.2, 3))
        seq = rng.choice(np.array([-1, 0, 1, 2, 3], np.int8), size=n, p=probs)  # -1 stands for N
        out = shuffle_indices(seq, rng)
        assert out.dtype == seq.dtype and out.shape == seq.shape
        assert pair_counts(out) == pair_counts(seq), trial
        assert Counter(out.tolist()) == Counter(seq.tolist())
        assert out[0] == seq[0] and out[-1] == seq[-1]


def test_strings_in_strings_out():
    rng = np.random.default_rng(1)
    seq = "".join(rng.choice(list("ACGT"), 150))
    out = dinucleotide_shuffle(seq, rng)
    assert isinstance(out, str) and pair_counts(out) == pair_counts(seq) and out != seq
    assert dinucleotide_shuffle(seq, np.random.default_rng(5)) == dinucleotide_shuffle(seq, np.random.default_rng(5))


def test_edge_cases():
    rng = np.random.default_rng(2)
    for seq in ["", "A", "AC", "AAAA", "ACACACAC", "AAAAAAC"]:
        out = dinucleotide_shuffle(seq, rng)
        assert pair_counts(out) == pair_counts(seq) and len(out) == len(seq)
    with pytest.raises(ValueError, match="1-D"):
        shuffle_indices(np.zeros((2, 3), np.int8), rng)


@pytest.mark.parametrize("seq", ["ACATACAGA", "AACCAGGAC"])
def test_every_valid_arrangement_equally_likely(seq):
    target = pair_counts(seq)
    options = sorted({"".join(p) for p in itertools.permutations(seq) if pair_counts("".join(p)) == target})
    assert len(options) == 12
    rng = np.random.default_rng(3)
    draws = Counter(dinucleotide_shuffle(seq, rng) for _ in range(200 * len(options)))
    assert set(draws) == set(options)
    assert chisquare([draws[o] for o in options]).pvalue > 1e-3


# ---------------------------------------------------------------- the student build's Markov resampler
def _pair_matrix(seqs: np.ndarray) -> np.ndarray:
    """(N, 4, 4) dinucleotide counts of (N, L) base indices."""
    n = len(seqs)
    codes = np.arange(n)[:, None] * 16 + seqs[:, :-1].astype(np.int64) * 4 + seqs[:, 1:]
    return np.bincount(codes.ravel(), minlength=n * 16).reshape(n, 4, 4)


def test_markov_resample_keeps_composition_on_average_and_scrambles_order():
    rng = np.random.default_rng(4)
    probs = np.array([0.1, 0.4, 0.4, 0.1])
    original = rng.choice(4, size=(2000, 200), p=probs).astype(np.int8)
    original[:, 50:70] = np.array([1, 2] * 10)                      # a CGCG... block in every row
    out = markov_resample(original, rng)
    assert out.shape == original.shape and out.dtype == original.dtype and set(np.unique(out)) <= {0, 1, 2, 3}
    assert (out[:, 0] == original[:, 0]).all()
    pairs_in, pairs_out = _pair_matrix(original).mean(0), _pair_matrix(out).mean(0)
    assert np.abs(pairs_out - pairs_in).max() < 0.03 * pairs_in.max()          # composition kept on average
    assert (_pair_matrix(out) != _pair_matrix(original)).any((1, 2)).mean() > 0.95   # but not exactly
    assert (out[:, 50:70] == original[:, 50:70]).all(1).mean() < 0.01           # the block is scattered
    again = markov_resample(original, np.random.default_rng(7))
    assert np.array_equal(again, markov_resample(original, np.random.default_rng(7)))


def test_markov_resample_edge_cases():
    rng = np.random.default_rng(5)
    assert markov_resample(np.zeros((0, 10), np.int8), rng).shape == (0, 10)
    assert np.array_equal(markov_resample(np.array([[2]], np.int8), rng), [[2]])
    # a letter seen only at the end has no pair to follow: the chain draws from the row's letters then
    out = markov_resample(np.array([[0] * 30 + [3]] * 50, np.int8), rng)
    assert set(np.unique(out)) <= {0, 3}
    for bad in (np.array([0, 1, 2]), np.array([[0, 4]]), np.array([[0.0, 1.0]]), "ACGT"):
        with pytest.raises(ValueError, match="markov_resample expects"):
            markov_resample(bad, rng)
