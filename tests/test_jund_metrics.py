"""The reference loss and metric equal independent computations (sklearn, torch)."""
import numpy as np
import pytest
import torch
from sklearn.metrics import accuracy_score

from course_lib.reference.jund import weighted_accuracy, weighted_bce_loss

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("seed", range(5))
def test_weighted_accuracy_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    n = rng.integers(1, 500)
    pred, true = rng.integers(0, 2, n), rng.integers(0, 2, n)
    w = rng.exponential(1.0, n)
    want = accuracy_score(true, pred, sample_weight=w)
    assert weighted_accuracy(pred, true, w) == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize("device", DEVICES)
def test_weighted_accuracy_input_kinds(device):
    rng = np.random.default_rng(0)
    pred, true, w = rng.integers(0, 2, 50), rng.integers(0, 2, 50), rng.random(50)
    want = accuracy_score(true, pred, sample_weight=w)
    kinds = [
        (pred.tolist(), true.tolist(), w.tolist()),
        (pred[:, None], true, w[:, None]),
        (torch.tensor(pred, device=device), torch.tensor(true[:, None], device=device), torch.tensor(w, device=device)),
        (pred.astype(bool), true, w),
    ]
    for args in kinds:
        assert weighted_accuracy(*args) == pytest.approx(want)


def test_weighted_accuracy_edge_cases():
    assert weighted_accuracy([1], [1], [0.3]) == 1.0
    assert weighted_accuracy([1, 0], [1, 1], [0.0, 5.0]) == 0.0  # only the wrong one has weight
    with pytest.raises(ValueError, match="total weight is zero"):
        weighted_accuracy([1, 0], [1, 0], [0, 0])
    with pytest.raises(ValueError, match="total weight is zero"):
        weighted_accuracy([], [], [])
    with pytest.raises(ValueError, match="lengths differ"):
        weighted_accuracy([1, 0], [1], [1, 1])
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, 1\)"):
        weighted_accuracy(np.zeros((3, 2)), np.zeros(3), np.ones(3))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("seed", range(3))
def test_weighted_bce_equals_torch(seed, device):
    g = torch.Generator().manual_seed(seed)
    logits = (torch.randn(64, 1, generator=g) * 4).to(device)
    y = torch.randint(0, 2, (64, 1), generator=g).float().to(device)
    w = (torch.rand(64, 1, generator=g) * 3).to(device)
    want = torch.nn.BCEWithLogitsLoss(weight=w)(logits, y)
    p = torch.sigmoid(logits.double())
    by_hand = (-(w.double() * (y * torch.log(p) + (1 - y) * torch.log1p(-p)))).mean()
    got = weighted_bce_loss(logits, y, w)
    assert got.dim() == 0
    assert torch.allclose(got, want, rtol=1e-6)
    assert torch.allclose(got.double(), by_hand, rtol=1e-5)


def test_weighted_bce_edge_cases():
    logits = torch.tensor([[100.0], [-100.0]])
    y = torch.tensor([[0.0], [1.0]])
    assert weighted_bce_loss(logits, y, torch.ones(2, 1)).item() == pytest.approx(100.0)
    assert weighted_bce_loss(logits, y, torch.zeros(2, 1)).item() == 0.0
    # labels and weights of shape (B,) are accepted
    flat = weighted_bce_loss(logits, y.reshape(-1), torch.ones(2))
    assert flat.item() == pytest.approx(100.0)
