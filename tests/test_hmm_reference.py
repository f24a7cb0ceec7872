"""The hmm_gru reference solutions, checked against independent computations."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from course_lib import hmm
from course_lib.reference import hmm_gru as ref


def test_encode_decode_round_trip():
    assert ref.encode_seq("ACGT", "dna").tolist() == [0, 1, 2, 3]
    assert ref.encode_seq("HLLH", "state").tolist() == [0, 1, 1, 0]
    assert ref.encode_seq("GATC", "dna").dtype == torch.long
    for s, kind in (("GATTACA", "dna"), ("HHLLHL", "state"), ("", "dna")):
        assert ref.decode_seq(ref.encode_seq(s, kind), kind) == s
    assert ref.decode_seq(np.array([3, 2]), "dna") == "TG"
    assert ref.decode_seq([1, 0], "state") == "LH"


@pytest.mark.parametrize("call, message", [
    (lambda: ref.encode_seq("ACGN", "dna"), "invalid letter 'N' at position 3"),
    (lambda: ref.encode_seq("HLX", "state"), "invalid letter 'X'"),
    (lambda: ref.encode_seq("ACGT", "protein"), "seqtype"),
    (lambda: ref.decode_seq([0, 4], "dna"), "0..3"),
    (lambda: ref.decode_seq([-1], "state"), "0..1"),
    (lambda: ref.decode_seq([0.5], "state"), "integers"),
])
def test_encode_decode_errors(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("bidirectional", [False, True])
def test_gru_tagger_shapes_and_log_probabilities(bidirectional):
    model = ref.GRUTagger(4, 8, 2, n_layers=2, bidirectional=bidirectional).eval()
    x = torch.randint(0, 4, (3, 25))
    out = model(x)
    assert out.shape == (3, 25, 2)
    torch.testing.assert_close(out.exp().sum(-1), torch.ones(3, 25))
    assert model.gru.bidirectional is bidirectional and model.gru.num_layers == 2


def test_unidirectional_tagger_is_causal_and_bidirectional_is_not():
    x = torch.randint(0, 4, (2, 20), generator=torch.Generator().manual_seed(0))
    x2 = x.clone()
    x2[:, -1] = (x2[:, -1] + 1) % 4
    for bidirectional, changes in ((False, False), (True, True)):
        torch.manual_seed(0)
        model = ref.GRUTagger(4, 8, 2, bidirectional=bidirectional).eval()
        with torch.no_grad():
            diff = (model(x)[:, :-1] - model(x2)[:, :-1]).abs().max()
        assert bool(diff > 1e-6) is changes


def test_tagging_loss_is_nll_over_positions():
    log_probs = torch.log_softmax(torch.randn(3, 7, 2), -1)
    states = torch.randint(0, 2, (3, 7))
    want = -log_probs.gather(-1, states[..., None]).mean()
    torch.testing.assert_close(ref.tagging_loss(log_probs, states), want)


def test_predict_returns_states_and_probabilities():
    torch.manual_seed(0)
    model = ref.GRUTagger(4, 8, 2).train()
    states, probs = ref.predict(model, "ACGTTTGCA")
    assert not model.training
    assert isinstance(states, str) and len(states) == 9 and set(states) <= set("HL")
    assert probs.shape == (9, 2)
    np.testing.assert_allclose(probs.sum(1), 1, rtol=1e-5)
    assert states == ref.decode_seq(probs.argmax(1), "state")


def test_fraction_matches():
    assert ref.fraction_matches("HHLL", "HLLL") == 0.75
    assert ref.fraction_matches(list("ACGT"), "ACGA") == 0.75
    with pytest.raises(ValueError, match="different lengths"):
        ref.fraction_matches("HL", "H")
    with pytest.raises(ValueError, match="empty"):
        ref.fraction_matches("", "")


@pytest.mark.parametrize("fraction, symbols, length", [(0.6, "HL", 20), (0.3, "ACGT", 40), (0.61, "HL", 100)])
def test_sim_prob_match_agrees_with_the_binomial_tail(fraction, symbols, length):
    n = 40_000
    need = int(np.ceil(fraction * length))
    want = stats.binom.sf(need - 1, length, 1 / len(symbols))
    got = ref.sim_prob_match(fraction, symbols, length, n)
    assert abs(got - want) < 4 * np.sqrt(want * (1 - want) / n) + 1e-3
    assert got == ref.sim_prob_match(fraction, symbols, length, n)


def test_sim_prob_match_edges():
    assert ref.sim_prob_match(0.0, "HL", 10, 100) == 1.0
    assert ref.sim_prob_match(1.2, "HL", 10, 100) == 0.0
    assert ref.sim_prob_match(0.5, "HL", 20, 1000, seed=1) != ref.sim_prob_match(0.5, "HL", 20, 1000, seed=2)
    with pytest.raises(ValueError):
        ref.sim_prob_match(0.5, "", 10, 100)


def test_alignment_text_marks_agreement(capsys):
    text = hmm.alignment_text("HHLLH", "HLLLL", width=3)
    lines = text.splitlines()
    assert lines[0].endswith("truth HHL") and lines[1].endswith("| |") and lines[2].endswith("pred  HLL")
    assert "    3 truth LH" in text
    ref.print_alignment("HHLLH", "HLLLL")
    assert "agreement: 60.0%" in capsys.readouterr().out
    with pytest.raises(ValueError):
        hmm.alignment_text("HL", "H")


def test_training_learns_beyond_per_base_guessing(one_thread):
    """A few epochs on strong-emission HMM data: the tagger uses context (beats per-base decoding)."""
    from course_lib.data.hmm import HMMDataset, HMMSplit

    params = hmm.symmetric_hmm(stay=0.95, gc_rich=0.45)

    def split(n, seed):
        bases, states = hmm.sample(n, 40, params, rng=seed)
        return HMMSplit([], [], bases, states, "memory")

    train, test = split(480, 0), split(200, 1)
    model = ref.GRUTagger(4, 16, 2, bidirectional=True)
    history = ref.train_tagger(model, HMMDataset(train), HMMDataset(test), epochs=8, batch_size=32,
                               lr=1e-2, progress=False)
    per_base = hmm.decoder_accuracies(test.bases, test.states, params)["per-base"]
    assert history.best_metric > per_base + 0.02
