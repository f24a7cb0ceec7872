"""Reference solutions of ctcf_saliency, checked independently: shapes, finite differences, early stopping."""
import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from course_lib.reference.ctcf_saliency import (CTCFNet, CTCFNetRegularized, EarlyStopping,  # noqa: E402
                                                saliency_map)
from course_lib.saliency import plot_attribution_heatmap, plot_logos, position_scores, site_overlap  # noqa: E402


def one_hot(n, length, seed=0):
    g = torch.Generator().manual_seed(seed)
    return nn.functional.one_hot(torch.randint(0, 4, (n, length), generator=g), 4).float()


@pytest.mark.parametrize("length", [200, 101])
def test_models_shapes_and_layers(length):
    for cls in (CTCFNet, CTCFNetRegularized):
        model = cls(seq_len=length).eval()
        assert model(one_hot(7, length)).shape == (7, 1)
    conv = CTCFNet().conv[0]
    assert (conv.in_channels, conv.out_channels, conv.kernel_size, conv.padding) == (4, 24, (19,), "same")
    rates = sorted(m.p for m in CTCFNetRegularized().modules() if isinstance(m, nn.Dropout))
    assert rates == [0.2, 0.5]


def test_saliency_matches_finite_differences():
    torch.manual_seed(0)
    model = CTCFNet().double().eval()
    X = one_hot(2, 200, seed=1).double()
    sal = saliency_map(model, X)
    assert sal.shape == (2, 200, 4)
    eps = 1e-6
    rng = np.random.default_rng(0)
    for _ in range(12):
        i, pos, base = int(rng.integers(2)), int(rng.integers(200)), int(rng.integers(4))
        up, down = X.clone(), X.clone()
        up[i, pos, base] += eps
        down[i, pos, base] -= eps
        with torch.no_grad():
            numeric = (model(up)[i, 0] - model(down)[i, 0]) / (2 * eps)
        assert float(sal[i, pos, base]) == pytest.approx(float(numeric), rel=1e-4, abs=1e-8)


def test_saliency_of_logit_in_eval_mode_and_mode_restored():
    torch.manual_seed(1)
    model = CTCFNetRegularized().train()
    X = one_hot(3, 200, seed=2)
    sal = saliency_map(model, X)
    assert model.training  # given back in training mode
    assert all(p.grad is None for p in model.parameters())  # saliency leaves no parameter gradients
    model.eval()
    Xg = X.clone().requires_grad_(True)
    model(Xg).sum().backward()
    assert torch.allclose(sal, Xg.grad, atol=1e-6)
    assert not model.training
    assert torch.allclose(saliency_map(model, X.numpy()), sal, atol=1e-6)  # NumPy input too


def test_early_stopping_stops_and_restores_a_copy():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    stopper = EarlyStopping(patience=2)
    flags, kept = [], None
    for epoch, loss in enumerate([1.0, 0.5, 0.7, 0.6, 0.4]):
        with torch.no_grad():
            model.weight += 1.0  # training changes the weights in place
        if epoch == 1:
            kept = model.weight.detach().clone()
        flags.append(stopper.step(loss, model))
        if flags[-1]:
            break
    assert flags == [False, False, False, True]
    assert stopper.best_epoch == 1 and stopper.best_loss == 0.5
    stopper.restore(model)
    assert torch.equal(model.weight, kept)
    with pytest.raises(RuntimeError, match="step"):
        EarlyStopping().restore(model)
    with pytest.raises(ValueError, match="patience"):
        EarlyStopping(patience=0)


def test_site_overlap_on_constructed_maps():
    attrs = np.zeros((3, 50, 4))
    attrs[0, 10:15, 0] = 1.0     # all of it on the site at 10
    attrs[1, 40, 2] = 1.0        # strongest position outside the site at 5
    attrs[2, 20:25, 1] = -2.0    # negative attributions count by size
    out = site_overlap(attrs, motif_pos=[10, 5, 20], motif_len=5)
    assert out["top1_hit_rate"] == pytest.approx(2 / 3)
    assert out["n"] == 3 and out["chance"] == pytest.approx(0.1)
    assert site_overlap(attrs, [10, -1, -1], motif_len=5)["topk_overlap"] == 1.0
    assert position_scores(attrs).shape == (3, 50)


def test_plots_draw():
    rng = np.random.default_rng(0)
    attrs = rng.normal(size=(3, 60, 4))
    fig = plot_logos(attrs, titles=["a", "b", "c"], motif_pos=[5, -1, 10], motif_len=19, window=40)
    assert len(fig.axes) == 3
    ax = plot_attribution_heatmap(attrs, motif_pos=[5, -1, 10], motif_len=19)
    assert ax.images[0].get_array().shape == (3, 60)
    with pytest.raises(ValueError, match=r"\(L, 4\)"):
        plot_logos(rng.normal(size=(2, 60, 3)))
    pair = plot_logos({"noisy": attrs, "clean": attrs * 0.1}, titles=["a", "b", "c"], window=40)
    axes = np.array(pair.axes).reshape(3, 2)
    assert [ax.get_title() for ax in axes[0]] == ["noisy: a", "clean: a"]
    assert all(left.get_xlim() == right.get_xlim() for left, right in axes), "a row shows the same bases"
    with pytest.raises(ValueError, match="one shape"):
        plot_logos({"a": attrs, "b": attrs[:2]})
