"""The rnacompete reference: losses and metrics against independent computations, models, train."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch.utils.data import TensorDataset

from course_lib.reference import rnacompete as ref
from course_lib.training import make_loader


# ---------------------------------------------------------------- masked_spearman
@pytest.mark.parametrize("seed", range(6))
def test_spearman_equals_scipy_with_ties_and_masks(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 400))
    preds = rng.integers(0, 6, n).astype(float) if seed % 2 else rng.normal(size=n)
    targets = np.round(rng.normal(size=n), 1)
    mask = rng.random(n) > 0.3
    mask[:2] = True
    want = stats.spearmanr(preds[mask], targets[mask]).statistic
    got = ref.masked_spearman(torch.tensor(preds).reshape(-1, 1), torch.tensor(targets).reshape(-1, 1),
                              torch.tensor(mask, dtype=torch.float32).reshape(-1, 1))
    assert isinstance(got, float)
    assert got == pytest.approx(want, abs=1e-10)


def test_average_ranks_equal_rankdata():
    values = torch.tensor([3.0, 1.0, 3.0, 2.0, 3.0, -1.0, 2.0])
    assert np.array_equal(ref.average_ranks(values).numpy(), stats.rankdata(values.numpy()))


def test_spearman_ignores_masked_entries_and_accepts_flat_bool():
    preds = torch.tensor([1.0, 2.0, 3.0, 100.0, 4.0])
    targets = torch.tensor([2.0, 1.0, 4.0, float("nan"), 3.0])
    mask = torch.tensor([True, True, True, False, True])
    assert ref.masked_spearman(preds, targets, mask) == pytest.approx(0.6)


def test_spearman_with_fewer_than_two_entries_raises():
    with pytest.raises(ValueError, match="at least 2"):
        ref.masked_spearman(torch.ones(3), torch.ones(3), torch.tensor([0, 1, 0]))
    with pytest.raises(ValueError):
        ref.masked_spearman(torch.ones(3), torch.ones(3), torch.zeros(3))


def test_spearman_of_a_constant_is_nan_like_scipy():
    assert math.isnan(ref.masked_spearman(torch.ones(4), torch.arange(4.0), torch.ones(4)))


def test_spearman_size_mismatch_is_an_error():
    with pytest.raises(ValueError, match="sizes differ"):
        ref.masked_spearman(torch.ones(4), torch.ones(5), torch.ones(4))


# ---------------------------------------------------------------- masked_mse_loss
def test_mse_matches_numpy_and_skips_nan_targets():
    rng = np.random.default_rng(0)
    preds, targets = rng.normal(size=50), rng.normal(size=50)
    mask = rng.random(50) > 0.4
    want = np.mean((preds[mask] - targets[mask]) ** 2)
    targets_nan = targets.copy()
    targets_nan[~mask] = np.nan
    got = ref.masked_mse_loss(torch.tensor(preds).reshape(-1, 1), torch.tensor(targets_nan).reshape(-1, 1),
                              torch.tensor(mask).reshape(-1, 1))
    assert got.dim() == 0 and float(got) == pytest.approx(want)


def test_mse_gradient_and_empty_mask():
    preds = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = ref.masked_mse_loss(preds, torch.zeros(3), torch.tensor([1.0, 0.0, 1.0]))
    loss.backward()
    assert torch.allclose(preds.grad, torch.tensor([1.0, 0.0, 3.0]))  # d/dp of (p0^2 + p2^2) / 2
    empty = ref.masked_mse_loss(preds, torch.zeros(3), torch.zeros(3))
    assert float(empty.detach()) == 0.0 and empty.requires_grad


# ---------------------------------------------------------------- models
@pytest.mark.parametrize("cls", [ref.DeepBindCNN, ref.ConvLSTM])
def test_models_accept_both_input_shapes(cls):
    torch.manual_seed(0)
    model = cls().eval()
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (5, 41)), 4).float()
    out = model(x)
    assert out.shape == (5, 1)
    assert torch.allclose(out, model(x.unsqueeze(1)))
    with pytest.raises(ValueError, match="41"):
        model(torch.zeros(5, 2, 41, 4))


def test_deepbind_layers():
    model = ref.DeepBindCNN(motif_len=10, num_filters=7, hidden=5)
    assert model.conv.kernel_size == (10, 4) and model.conv.in_channels == 1 and model.conv.out_channels == 7


def test_convlstm_reads_to_the_last_step():
    """Changing only the last bases changes the output: the last LSTM step is used."""
    torch.manual_seed(0)
    model = ref.ConvLSTM().eval()
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (1, 41)), 4).float()
    x[0, -3:] = torch.eye(4)[[0, 0, 0]]
    y = x.clone()
    y[0, -3:] = torch.eye(4)[[3, 3, 3]]
    with torch.no_grad():
        assert not torch.allclose(model(x), model(y))
    assert model.lstm.num_layers == 2 and model.lstm.batch_first


# ---------------------------------------------------------------- train
def test_train_keeps_the_best_epoch_as_a_copy(tmp_path):
    """Validation targets are the opposite of training ones: the best epoch is early, not the last."""
    g = torch.Generator().manual_seed(0)
    x = torch.nn.functional.one_hot(torch.randint(0, 4, (512, 41), generator=g), 4).float()
    signal = x[:, :, 3].sum(1, keepdim=True)            # U count
    y = signal + 0.1 * torch.randn(512, 1, generator=g)
    mask = torch.ones(512, 1)
    train_loader = make_loader(TensorDataset(x[:384], y[:384], mask[:384]), 32, shuffle=True)
    valid_data = (x[384:], -y[384:], mask[384:])
    valid_loader = make_loader(TensorDataset(*valid_data), 128)
    torch.manual_seed(0)
    model = ref.DeepBindCNN(motif_len=4, num_filters=8, hidden=8, dropout=0.0)
    path = tmp_path / "best.pt"
    best = ref.train(model, train_loader, valid_loader, epochs=5, lr=0.01, checkpoint=path, progress=False)
    history = model.history
    assert best == pytest.approx(max(history.valid_metric))
    assert history.best_epoch < len(history.valid_metric) - 1, "the test needs a best epoch before the last"
    saved = ref.DeepBindCNN(motif_len=4, num_filters=8, hidden=8, dropout=0.0)
    saved.load_state_dict(torch.load(path))
    saved.eval()
    with torch.no_grad():
        rho = ref.masked_spearman(saved(valid_data[0]), valid_data[1], valid_data[2])
    assert rho == pytest.approx(best, abs=1e-6)
