"""course_lib.recipes: reverse complement, RC augmentation, strand averaging, splits, seeds."""
import numpy as np
import pytest
import torch
from torch import nn

from course_lib.encoding import DNA, one_hot, one_hot_to_string
from course_lib.recipes import (MeanOfModels, RCAugment, StrandAveraged, best_of_seeds, gc_content, gc_shifted_split,
                                seed_filters_with_motif,
                                reverse_complement, stratified_split)

COMPLEMENT = {"A": "T", "C": "G", "G": "C", "T": "A", "N": "N"}


def _random_seqs(rng, n, length=30):
    return ["".join(rng.choice(list(DNA), length)) for _ in range(n)]


def test_reverse_complement_of_one_hot_spells_the_other_strand():
    seq = "AACGTTTGCANGG"
    expected = "".join(COMPLEMENT[b] for b in reversed(seq))
    X = one_hot(seq)
    assert one_hot_to_string(reverse_complement(X)) == expected
    Xt = torch.from_numpy(X)[None]
    assert one_hot_to_string(reverse_complement(Xt)[0].numpy()) == expected


def test_reverse_complement_is_an_involution_on_batches():
    rng = np.random.default_rng(0)
    X = np.stack([one_hot(s) for s in _random_seqs(rng, 5)])
    assert np.array_equal(reverse_complement(reverse_complement(X)), X)
    assert not np.array_equal(reverse_complement(X), X)
    Xt = torch.from_numpy(X)
    assert torch.equal(reverse_complement(reverse_complement(Xt)), Xt)


def test_reverse_complement_rejects_channels_first():
    with pytest.raises(ValueError, match="4 channels last"):
        reverse_complement(torch.zeros(2, 4, 30))


def test_rc_augment_flips_about_p_of_the_rows_and_keeps_the_rest_of_the_batch():
    rng = np.random.default_rng(1)
    X = torch.from_numpy(np.stack([one_hot(s) for s in _random_seqs(rng, 400)]))
    y = torch.arange(400.0).reshape(-1, 1)
    loader = [(X, y)]
    (Xa, ya), = list(RCAugment(loader, p=0.5, seed=0))
    assert torch.equal(ya, y)
    same = (Xa == X).flatten(1).all(1)
    flipped = (Xa == reverse_complement(X)).flatten(1).all(1)
    assert bool((same | flipped).all()), "every row is either itself or its reverse complement"
    assert 150 < int(flipped.sum()) < 250
    (Xb, _), = list(RCAugment(loader, p=0.5, seed=0))
    assert torch.equal(Xa, Xb), "a fixed seed gives the same flips"
    (Xn, _), = list(RCAugment(loader, p=0.0))
    assert torch.equal(Xn, X)


class _TwoInputNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 3, 5)
        self.out = nn.Linear(3 * 26 + 1, 1)

    def forward(self, X, a):
        return self.out(torch.cat([self.conv(X.transpose(1, 2)).flatten(1), a], 1))


def test_strand_averaging_is_strand_invariant_and_passes_other_inputs():
    torch.manual_seed(0)
    rng = np.random.default_rng(2)
    X = torch.from_numpy(np.stack([one_hot(s) for s in _random_seqs(rng, 8)]))
    a = torch.rand(8, 1)
    net = _TwoInputNet().eval()
    assert not torch.allclose(net(X, a), net(reverse_complement(X), a)), "the bare net is not strand-invariant"
    avg = StrandAveraged(net).eval()
    assert torch.allclose(avg(X, a), avg(reverse_complement(X), a), atol=1e-6)
    assert torch.allclose(avg(X, a), 0.5 * (net(X, a) + net(reverse_complement(X), a)))
    assert not torch.allclose(avg(X, a), avg(X, a + 1)), "the accessibility still reaches the model"
    assert list(avg.parameters()) == list(net.parameters())


def test_stratified_split_keeps_each_class_share_and_is_a_partition():
    y = np.zeros(1000)
    y[:37] = 1
    parts = stratified_split(y, (0.6, 0.2, 0.2), seed=3)
    rows = np.concatenate(list(parts.values()))
    assert np.array_equal(np.sort(rows), np.arange(1000))
    assert [int(y[p].sum()) for p in parts.values()] == [22, 8, 7]
    again = stratified_split(y, (0.6, 0.2, 0.2), seed=3)
    assert all(np.array_equal(parts[k], again[k]) for k in parts)
    with pytest.raises(ValueError):
        stratified_split(y, (0.5, 0.2, 0.2))


def test_gc_content_of_strings_and_one_hot_agree():
    seqs = ["GGCC", "ATAT", "ACGN", "GATC"]
    assert np.allclose(gc_content(seqs), [1.0, 0.0, 2 / 3, 0.5])
    assert np.allclose(gc_content(np.stack([one_hot(s) for s in seqs])), [1.0, 0.0, 2 / 3, 0.5])


def test_gc_shifted_split_draws_test_from_the_gc_richest_of_each_class():
    rng = np.random.default_rng(4)
    seqs = _random_seqs(rng, 500, length=40)
    y = (np.arange(500) % 2).astype(int)
    gc = gc_content(seqs)
    strict = gc_shifted_split(seqs, y, test_fraction=0.2, valid_fraction=0.1, pool_fraction=0.2, seed=0)
    loose = gc_shifted_split(seqs, y, test_fraction=0.2, valid_fraction=0.1, pool_fraction=0.6, seed=0)
    for parts in (strict, loose):
        assert np.array_equal(np.sort(np.concatenate(list(parts.values()))), np.arange(500))
        assert len(parts["test"]) == 100 and len(parts["valid"]) == 40
        assert gc[parts["test"]].mean() > gc[parts["train"]].mean() + 0.02
    for cls in (0, 1):
        rows = np.flatnonzero(y == cls)
        rest = np.setdiff1d(rows, strict["test"])
        assert gc[np.intersect1d(rows, strict["test"])].min() >= gc[rest].max()
        floor = np.sort(gc[rows])[rows.size - int(0.6 * rows.size)]
        assert gc[np.intersect1d(rows, loose["test"])].min() >= floor
    assert gc[strict["test"]].mean() > gc[loose["test"]].mean()
    with pytest.raises(ValueError):
        gc_shifted_split(seqs, y, test_fraction=0.3, pool_fraction=0.2)


def test_best_of_seeds_picks_by_validation_score():
    seed, score, result, scores = best_of_seeds(lambda s: ({0: 0.5, 1: 0.9, 2: 0.7}[s], f"model {s}"))
    assert (seed, score, result) == (1, 0.9, "model 1")
    assert scores == {0: 0.5, 1: 0.9, 2: 0.7}
    assert best_of_seeds(lambda s: (float(s), s), seeds=(3, 1, 2), higher_is_better=False)[0] == 1


def test_mean_of_models_averages_outputs():
    torch.manual_seed(0)
    nets = [_TwoInputNet().eval() for _ in range(3)]
    X, a = torch.rand(4, 30, 4), torch.rand(4, 1)
    mean = MeanOfModels(nets)
    assert torch.allclose(mean(X, a), sum(n(X, a) for n in nets) / 3)
    assert len(list(mean.parameters())) == 3 * len(list(nets[0].parameters()))
    with pytest.raises(ValueError):
        MeanOfModels([])


def test_seeded_filters_fire_on_the_motif_and_not_on_background():
    from course_lib.motifs import load_motif
    from course_lib.reference.jund import CNN
    motif = load_motif("MA0491.1")
    model = seed_filters_with_motif(StrandAveraged(CNN(kernel_size=13, pool_size=89)), motif.pwm(), n_filters=2)
    conv = model.model.conv[0]
    site = torch.as_tensor(one_hot(motif.consensus()), dtype=torch.float32)          # (11, 4)
    background = torch.as_tensor(one_hot("ACGT" * 4), dtype=torch.float32)[:13]
    with_site = torch.cat([background[:1], site, background[:1]])                    # (13, 4): one full window
    scores = conv(torch.stack([with_site, background]).transpose(1, 2))[:, :2, 0]     # 2 seeded filters
    assert (scores[0] > 0).all() and (scores[1] <= 0).all()
    assert torch.equal(conv.weight[0], conv.weight[1])
    assert not torch.equal(conv.weight[2], conv.weight[0])                            # the rest keep their start
    assert conv.weight[0, :, 0].abs().sum() == 0                                      # centred: one empty column each side


def test_seed_filters_rejects_filters_narrower_than_the_motif():
    from course_lib.motifs import load_motif
    from course_lib.reference.jund import CNN
    with pytest.raises(ValueError, match="11 bases long but the filters are only 7 wide"):
        seed_filters_with_motif(CNN(kernel_size=7, pool_size=95), load_motif("MA0491.1").pwm())
    with pytest.raises(ValueError, match="in_channels=4"):
        seed_filters_with_motif(nn.Linear(3, 1), load_motif("MA0491.1").pwm())


def test_seed_filters_with_two_motifs_fills_consecutive_filters():
    from course_lib.motifs import load_motif
    from course_lib.reference.jund import CNN
    tre, ctcf = load_motif("MA0491.1").pwm(), load_motif("MA0139.1").pwm()
    conv = seed_filters_with_motif(CNN(n_filters=8, kernel_size=19, pool_size=83), [tre, ctcf], n_filters=3).conv[0]
    single = seed_filters_with_motif(CNN(n_filters=8, kernel_size=19, pool_size=83), ctcf, n_filters=3).conv[0]
    assert torch.equal(conv.weight[3], single.weight[0]) and torch.equal(conv.bias[3:6], single.bias[:3])
    assert all(torch.equal(conv.weight[i], conv.weight[0]) for i in (1, 2))
    assert not torch.equal(conv.weight[0], conv.weight[3])
    assert conv.weight[0, :, :4].abs().sum() == 0                       # the 11-wide matrix centred in 19
    with pytest.raises(ValueError, match="need 10 filters, but the first nn.Conv1d has only 8"):
        seed_filters_with_motif(CNN(n_filters=8, kernel_size=19, pool_size=83), [tre, ctcf], n_filters=5)
