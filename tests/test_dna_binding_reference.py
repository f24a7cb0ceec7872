"""Reference solutions of part 1 (one-hot, data set, BiLSTM, loops) and the LSTM initialisation."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.metrics import log_loss
from torch import nn

from course_lib.models.recurrent import init_lstm_
from course_lib.reference.dna_unet import DNADataset, LSTMSeq, evaluate, one_hot_encode, train, validate
from course_lib.training import make_loader

pytestmark = pytest.mark.usefixtures("one_thread")


def test_one_hot_encode_order_and_dtype():
    x = one_hot_encode("TGCA")
    assert x.dtype == torch.float32 and x.shape == (4, 4)
    assert torch.equal(x, torch.eye(4).flip(0))


@pytest.mark.parametrize("bad", ["ACGN", "ACGU", "AC GT"])
def test_one_hot_encode_rejects_other_letters(bad):
    with pytest.raises(ValueError, match="invalid letter"):
        one_hot_encode(bad)


def test_dataset_items_and_batches():
    ds = DNADataset(["ACGT", "CCCC", "GGGG"], np.array([1, 0, 1]))
    x, y = ds[1]
    assert x.shape == (4, 4) and torch.equal(x[:, 1], torch.ones(4)) and y.tolist() == [0.0]
    xb, yb = next(iter(make_loader(ds, batch_size=2)))
    assert xb.shape == (2, 4, 4) and yb.shape == (2, 1)


def test_dataset_length_mismatch():
    with pytest.raises(ValueError, match="2 sequences but 3 labels"):
        DNADataset(["ACGT", "ACGT"], [1, 0, 1])


def test_lstmseq_uses_only_the_backward_final_state():
    torch.manual_seed(0)
    model = LSTMSeq(8).eval()
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (5, 101)), 4).float()
    p = model(x)
    assert p.shape == (5, 1) and ((p > 0) & (p < 1)).all()
    with torch.no_grad():
        model.lstm.weight_hh_l0.normal_()          # forward direction: must not matter
        assert torch.allclose(model(x), p)
        _, (h_n, _) = model.lstm(x)
        assert torch.allclose(torch.sigmoid(model.mlp(h_n[1])), p)


def test_loops_return_mean_batch_bce_and_ordered_predictions():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    seqs = ["".join(rng.choice(list("ACGT"), 20)) for _ in range(40)]
    labels = rng.integers(0, 2, 40)
    ds = DNADataset(seqs, labels)
    loader = make_loader(ds, batch_size=10)
    model = LSTMSeq(4)
    pred, target = evaluate(model, loader)
    assert pred.shape == target.shape == (40,) and np.array_equal(target, labels)
    batch_losses = [log_loss(labels[i:i + 10], pred[i:i + 10], labels=[0, 1]) for i in range(0, 40, 10)]
    assert validate(model, loader) == pytest.approx(np.mean(batch_losses), rel=1e-5)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    assert train(model, loader, opt) == pytest.approx(np.mean(batch_losses), rel=1e-5)


def test_init_lstm_sets_forget_bias_and_orthogonal_blocks():
    model = init_lstm_(LSTMSeq(8))
    lstm = model.lstm
    assert torch.equal(lstm.bias_ih_l0[8:16], torch.ones(8))
    assert torch.equal(lstm.bias_hh_l0_reverse, torch.zeros(32))
    block = lstm.weight_hh_l0_reverse[:8]
    assert torch.allclose(block @ block.T, torch.eye(8), atol=1e-5)


def test_init_lstm_needs_an_lstm():
    with pytest.raises(ValueError, match="no nn.LSTM"):
        init_lstm_(nn.Linear(2, 2))
