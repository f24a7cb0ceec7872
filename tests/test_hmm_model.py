"""The HMM module: sampling, the TSV format, and exact decoders against brute-force enumeration."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from course_lib import hmm

SHORT_HMM = hmm.HMMParams(start=(0.6, 0.4), transition=((0.8, 0.2), (0.3, 0.7)),
                          emission=((0.1, 0.4, 0.3, 0.2), (0.4, 0.1, 0.2, 0.3)))


def brute_force(bases: np.ndarray, params: hmm.HMMParams):
    """Every state path of one short sequence: (paths (P, L), joint probabilities (P,))."""
    start, trans, emit = params.arrays()
    length = bases.size
    paths = np.array(list(itertools.product(range(start.size), repeat=length)))
    joint = start[paths[:, 0]] * emit[paths[:, 0], bases[0]]
    for t in range(1, length):
        joint = joint * trans[paths[:, t - 1], paths[:, t]] * emit[paths[:, t], bases[t]]
    return paths, joint


@pytest.fixture(params=[hmm.COURSE_HMM, SHORT_HMM], ids=["course", "asymmetric"])
def params(request):
    return request.param


@pytest.fixture
def short_batch(params):
    bases, _ = hmm.sample(12, 7, params, rng=3)
    return bases


def test_likelihood_matches_enumeration(params, short_batch):
    want = [np.log(brute_force(b, params)[1].sum()) for b in short_batch]
    np.testing.assert_allclose(hmm.log_likelihood(short_batch, params), want, rtol=1e-10)


def test_posterior_matches_enumeration(params, short_batch):
    got = hmm.posterior_probs(short_batch, params)
    for row, b in enumerate(short_batch):
        paths, joint = brute_force(b, params)
        for s in range(2):
            want = (joint[:, None] * (paths == s)).sum(0) / joint.sum()
            np.testing.assert_allclose(got[row, :, s], want, atol=1e-12)


def test_filter_matches_enumeration_of_prefixes(params, short_batch):
    got = hmm.filter_probs(short_batch, params)
    for row, b in enumerate(short_batch):
        for t in range(b.size):
            paths, joint = brute_force(b[:t + 1], params)
            want_h = joint[paths[:, t] == 0].sum() / joint.sum()
            assert got[row, t, 0] == pytest.approx(want_h, abs=1e-12)


def test_viterbi_is_the_most_likely_path(params, short_batch):
    got = hmm.viterbi_decode(short_batch, params)
    for row, b in enumerate(short_batch):
        paths, joint = brute_force(b, params)
        np.testing.assert_array_equal(got[row], paths[joint.argmax()])


def test_per_base_uses_only_the_base():
    bases = np.array([[0, 1, 2, 3]])
    # course HMM: C and G are likelier under H (0), A and T under L (1)
    np.testing.assert_array_equal(hmm.per_base_decode(bases), [[1, 0, 0, 1]])


def test_decoders_accept_one_sequence_and_batches():
    bases, _ = hmm.sample(3, 30, rng=0)
    for decode in hmm.DECODERS.values():
        assert decode(bases).shape == (3, 30)
        np.testing.assert_array_equal(decode(bases[0])[0], decode(bases)[0])


def test_long_sequences_stay_finite():
    bases, _ = hmm.sample(2, 5000, rng=1)
    assert np.isfinite(hmm.log_likelihood(bases)).all()
    assert np.isfinite(hmm.posterior_probs(bases)).all()


def test_sampling_is_deterministic_and_follows_the_parameters():
    b1, s1 = hmm.sample(400, 500, rng=5)
    b2, s2 = hmm.sample(400, 500, rng=5)
    np.testing.assert_array_equal(b1, b2)
    np.testing.assert_array_equal(s1, s2)
    stays = (s1[:, 1:] == s1[:, :-1]).mean()
    assert stays == pytest.approx(0.95, abs=0.005)
    gc_in_h = np.isin(b1[s1 == 0], [1, 2]).mean()
    assert gc_in_h == pytest.approx(0.70, abs=0.01)
    assert (s1 == 0).mean() == pytest.approx(0.5, abs=0.03)


def test_course_parameters_leave_a_visible_gap():
    bases, states = hmm.sample(300, hmm.SEQ_LEN, rng=11)
    acc = hmm.decoder_accuracies(bases, states)
    assert acc["per-base"] == pytest.approx(0.70, abs=0.01)
    assert acc["per-base"] + 0.05 < acc["forward-only"] < acc["Viterbi"] <= acc["posterior"] + 1e-9
    assert acc["posterior"] - acc["per-base"] > 0.1


def test_params_are_validated():
    with pytest.raises(ValueError, match="sum to 1"):
        hmm.HMMParams(start=(0.5, 0.6), transition=((1, 0), (0, 1)), emission=((0.25,) * 4,) * 2)
    with pytest.raises(ValueError, match="shapes"):
        hmm.HMMParams(start=(1.0,), transition=((1, 0), (0, 1)), emission=((0.25,) * 4,))
    with pytest.raises(ValueError):
        hmm.symmetric_hmm(stay=1.2, gc_rich=0.3)


def test_tsv_round_trip(tmp_path):
    bases, states = hmm.sample(5, 40, rng=2)
    path = hmm.write_tsv(tmp_path / "seqs.tsv", bases, states)
    assert path.read_text().splitlines()[0] == "dna\thidden_state"
    dna, hidden = hmm.read_tsv(path)
    np.testing.assert_array_equal(hmm.strings_to_indices(dna, "ACGT"), bases)
    np.testing.assert_array_equal(hmm.strings_to_indices(hidden, hmm.STATES), states)
    assert set("".join(hidden)) <= set("HL")


@pytest.mark.parametrize("text, message", [
    ("seq\thidden_state\nACGT\tHHLL\n", "missing column"),
    ("dna\thidden_state\nACGX\tHHLL\n", "letter"),
    ("dna\thidden_state\nACGT\tHHLA\n", "hidden_state"),
    ("dna\thidden_state\nACGT\tHHL\n", "equally long"),
])
def test_tsv_errors_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.tsv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as info:
        hmm.read_tsv(path)
    assert "bad.tsv" in str(info.value)


def test_missing_tsv_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.tsv"):
        hmm.read_tsv(tmp_path / "nowhere.tsv")
