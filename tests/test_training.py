"""The shared training helper: keeps the best weights, stops early, batches from the dataset."""
import torch
from torch import nn
from torch.utils.data import TensorDataset

from course_lib.training import fit, make_loader, predict


def _toy(n=256, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    y = (x[:, :1] > 0).float()
    return TensorDataset(x, y)


def test_make_loader_serves_whole_batches_in_one_call():
    ds = _toy(100)
    batches = list(make_loader(ds, 32, shuffle=True))
    assert [len(b[0]) for b in batches] == [32, 32, 32, 4]
    seen = torch.cat([b[0] for b in batches])
    assert torch.equal(seen.sort(0).values, ds.tensors[0].sort(0).values)


def test_fit_restores_the_best_epoch_and_saves_it(tmp_path):
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    train, valid = make_loader(_toy(), 32, shuffle=True), make_loader(_toy(seed=1), 64)
    metrics = iter([0.5, 0.9, 0.6, 0.7])  # epoch 2 (index 1) is best

    def metric(out, y):
        return next(metrics)

    class Spy(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = model

        def forward(self, x):
            return self.inner(x)

    spy = Spy()
    ckpt = tmp_path / "best.pt"
    hist = fit(spy, train, valid, loss_fn=nn.functional.binary_cross_entropy_with_logits, metric_fn=metric,
               epochs=4, lr=0.1, checkpoint=ckpt, progress=False)
    assert hist.best_epoch == 1 and hist.best_metric == 0.9
    assert len(hist.train_loss) == len(hist.valid_loss) == 4
    saved = torch.load(ckpt)
    for k, v in spy.state_dict().items():
        assert torch.equal(saved[k], v), "restored weights must be the best epoch's, saved as a copy"


def test_fit_patience_stops_early():
    model = nn.Linear(3, 1)
    train, valid = make_loader(_toy(), 32), make_loader(_toy(seed=1), 64)
    hist = fit(model, train, valid, loss_fn=nn.functional.binary_cross_entropy_with_logits,
               metric_fn=lambda out, y: 0.5, epochs=20, patience=3, progress=False)
    assert hist.stopped_early and len(hist.train_loss) == 4


def test_fit_learns_and_predict_concatenates():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    train, valid = make_loader(_toy(512), 64, shuffle=True), make_loader(_toy(256, seed=1), 64)
    fit(model, train, valid, loss_fn=nn.functional.binary_cross_entropy_with_logits, epochs=5, lr=0.05,
        progress=False)
    out, (y,) = predict(model, valid)
    assert out.shape == (256, 1) and y.shape == (256, 1)
    assert ((out > 0).float() == y).float().mean() > 0.9


def test_history_plot_names_the_metric_axis_and_shows_one_legend_clear_of_the_curves():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def positional_accuracy(out, y):
        return float(((out > 0).float() == y).float().mean())

    ds = _toy(64)
    loader = make_loader(ds, 16)
    runs = {"positional accuracy": dict(metric_fn=positional_accuracy),
            "Dice": dict(metric_fn=lambda out, y: 0.5, metric_name="Dice"),
            "validation metric": dict(metric_fn=lambda out, y: 0.5)}
    for name, kwargs in runs.items():
        hist = fit(nn.Linear(3, 1), loader, loader, loss_fn=nn.functional.binary_cross_entropy_with_logits,
                   epochs=3, progress=False, **kwargs)
        assert hist.metric_name == name
        fig, ax = plt.subplots()
        hist.plot(ax=ax)
        (metric_ax,) = [a for a in fig.axes if a is not ax]
        assert metric_ax.get_ylabel() == name and ax.get_ylabel() == "loss"
        legends = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
        assert len(legends) == 1, "one legend for both axes"
        texts = [t.get_text() for t in legends[0].get_texts()]
        assert "train loss" in texts and "validation loss" in texts and any(name in t for t in texts), texts
        fig.canvas.draw()
        legend_box = legends[0].get_window_extent()
        assert legend_box.y1 <= ax.get_window_extent().y0, "the legend sits under the axes, over no curve"
        plt.close(fig)


def test_fit_calls_on_epoch_after_each_measured_epoch_with_that_epochs_weights():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    train, valid = make_loader(_toy(), 32, shuffle=True), make_loader(_toy(seed=1), 64)
    seen = []

    def on_epoch(epoch, m, history):
        assert m is model and len(history.valid_loss) == epoch + 1
        seen.append((epoch, history.valid_loss[-1], m.weight.detach().clone()))

    hist = fit(model, train, valid, loss_fn=nn.functional.binary_cross_entropy_with_logits,
               metric_fn=lambda out, y: -float(nn.functional.binary_cross_entropy_with_logits(out, y)),
               epochs=3, lr=0.1, progress=False, on_epoch=on_epoch)
    assert [s[0] for s in seen] == [0, 1, 2] and [s[1] for s in seen] == hist.valid_loss
    assert not torch.equal(seen[0][2], seen[2][2]), "each call sees that epoch's weights, not a fixed copy"
    assert torch.equal(model.weight.detach(), seen[hist.best_epoch][2]), "the best epoch is still restored"


def test_fit_without_validation_trains_every_epoch_and_keeps_the_last_weights():
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    states = []
    hist = fit(model, make_loader(_toy(), 32, shuffle=True), None, loss_fn=nn.functional.binary_cross_entropy_with_logits,
               epochs=3, progress=False,
               on_epoch=lambda epoch, m, h: states.append({k: v.clone() for k, v in m.state_dict().items()}))
    assert len(hist.train_loss) == 3 and hist.valid_loss == [] and hist.best_epoch is None
    assert len(states) == 3 and not torch.equal(states[0]["weight"], states[2]["weight"])
    assert torch.equal(model.weight, states[2]["weight"])   # the last epoch's weights, not an earlier one's
