"""The dinucleotide shuffle keeps dinucleotide counts exactly and samples every valid arrangement alike."""
import itertools
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from course_lib.motifs import dinucleotide_shuffle
from course_lib.reference.ctcf_saliency import dinucleotide_shuffle as student_shuffle


def pair_counts(seq) -> Counter:
    seq = list(seq)
    return Counter(zip(seq[:-1], seq[1:]))


def test_counts_preserved_on_many_random_sequences():
    rng = np.random.default_rng(0)
    for trial in range(500):
        n = int(rng.integers(1, 300))
        probs = rng.dirichlet(np.ones(5) * rng.uniform(0.2, 3))
        seq = rng.choice(np.array([-1, 0, 1, 2, 3], np.int8), size=n, p=probs)  # -1 stands for N
        out = dinucleotide_shuffle(seq, rng)
        assert out.dtype == seq.dtype and out.shape == seq.shape
        assert pair_counts(out) == pair_counts(seq), trial
        assert Counter(out.tolist()) == Counter(seq.tolist())
        assert out[0] == seq[0] and out[-1] == seq[-1]


def test_strings_in_strings_out():
    rng = np.random.default_rng(1)
    seq = "".join(rng.choice(list("ACGT"), 150))
    out = dinucleotide_shuffle(seq, rng)
    assert isinstance(out, str) and pair_counts(out) == pair_counts(seq) and out != seq
    assert student_shuffle(seq, np.random.default_rng(5)) == student_shuffle(seq, np.random.default_rng(5))
    assert pair_counts(student_shuffle(seq, rng)) == pair_counts(seq)


def test_edge_cases():
    rng = np.random.default_rng(2)
    for seq in ["", "A", "AC", "AAAA", "ACACACAC", "AAAAAAC"]:
        out = dinucleotide_shuffle(seq, rng)
        assert pair_counts(out) == pair_counts(seq) and len(out) == len(seq)
    with pytest.raises(ValueError, match="1-D"):
        dinucleotide_shuffle(np.zeros((2, 3), np.int8), rng)


@pytest.mark.parametrize("seq", ["ACATACAGA", "AACCAGGAC"])
def test_every_valid_arrangement_equally_likely(seq):
    target = pair_counts(seq)
    options = sorted({"".join(p) for p in itertools.permutations(seq) if pair_counts("".join(p)) == target})
    assert len(options) == 12
    rng = np.random.default_rng(3)
    draws = Counter(dinucleotide_shuffle(seq, rng) for _ in range(200 * len(options)))
    assert set(draws) == set(options)
    assert chisquare([draws[o] for o in options]).pvalue > 1e-3
