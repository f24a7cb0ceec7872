"""course_lib.tuning.grid_search: every combination once, scores as returned, best first."""
import pytest

from course_lib.tuning import grid_search


def test_every_combination_scored_once_best_first():
    calls = []

    def score(a, b):
        calls.append((a, b))
        return -(a - 2) ** 2 - b

    table = grid_search(score, {"a": [1, 2, 3], "b": [0, 1]}, progress=False)
    assert sorted(calls) == [(1, 0), (1, 1), (2, 0), (2, 1), (3, 0), (3, 1)]
    assert list(table.columns) == ["a", "b", "score"] and len(table) == 6
    assert table.iloc[0][["a", "b", "score"]].tolist() == [2, 0, 0]
    assert table["score"].is_monotonic_decreasing


def test_lower_is_better_and_ties_keep_grid_order():
    table = grid_search(lambda lr: 1.0 if lr > 0.005 else 0.5, {"lr": [1e-3, 1e-2, 3e-2]},
                        higher_is_better=False, progress=False)
    assert table["lr"].tolist() == [1e-3, 1e-2, 3e-2]


@pytest.mark.parametrize("grid", [{}, {"a": []}])
def test_empty_grid_is_an_error(grid):
    with pytest.raises(ValueError):
        grid_search(lambda **kw: 0.0, grid, progress=False)


def _sweep(epochs=3):
    import torch
    from torch import nn
    from torch.utils.data import TensorDataset

    from course_lib.training import fit, make_loader
    from course_lib.tuning import run_sweep

    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 3, generator=g)
    data = TensorDataset(x, (x[:, :1] > 0).float())
    train, valid = make_loader(data, 32, shuffle=True), make_loader(data, 100)
    loss = nn.functional.binary_cross_entropy_with_logits

    def train_fn(model, lr, on_epoch):
        return fit(model, train, valid, loss_fn=loss, metric_fn=lambda out, y: float(((out > 0) == y).float().mean()),
                   epochs=epochs, lr=lr, progress=False, on_epoch=on_epoch)

    def make(hidden_size):
        return nn.Sequential(nn.Linear(3, hidden_size), nn.ReLU(), nn.Linear(hidden_size, 1))

    return run_sweep(make, train_fn, {"hidden_size": [2, 4]}, {"lr": [0.01, 0.1]}, metric_column="acc"), valid, loss


def test_run_sweep_records_every_configuration_and_epoch():
    sweep, _, _ = _sweep()
    table = sweep.table()
    assert len(sweep.rows) == 2 * 2 * 3
    assert list(table.columns) == ["hidden_size", "lr", "epoch", "train_loss", "valid_loss", "acc"]
    assert sorted(set(zip(table.hidden_size, table.lr))) == [(2, 0.01), (2, 0.1), (4, 0.01), (4, 0.1)]
    assert table.groupby(["hidden_size", "lr"]).epoch.apply(list).map(tuple).unique().tolist() == [(1, 2, 3)]
    hist = sweep.history({"hidden_size": 4, "lr": 0.1, "epoch": 1})
    part = table[(table.hidden_size == 4) & (table.lr == 0.1)]
    assert part.valid_loss.tolist() == hist.valid_loss and part.acc.tolist() == hist.valid_metric
    assert sweep.by_epoch().shape == (3, 4)


def test_sweep_model_restores_the_weights_of_the_rows_epoch():
    import torch
    from course_lib.training import predict

    sweep, valid, loss = _sweep()
    for row in sweep.rows:
        model = sweep.model(row)
        out, (y,) = predict(model, valid, device="cpu")
        assert float(loss(out, y)) == pytest.approx(row["valid_loss"], rel=1e-5), row
    first, last = (sweep.model({"hidden_size": 4, "lr": 0.1, "epoch": e}) for e in (1, 3))
    assert not all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), last.state_dict().values()))
    with pytest.raises(KeyError):
        sweep.model({"hidden_size": 4, "lr": 0.1, "epoch": 9})
    with pytest.raises(KeyError):
        sweep.model({"hidden_size": 4, "epoch": 1})
