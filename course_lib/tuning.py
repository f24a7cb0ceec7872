"""A small grid search: every combination of a few hyper-parameters, each scored on validation data.

The table it returns is for the student to read: which setting to adopt (the best, or a simpler one
that is about as good) stays their decision.
"""
from __future__ import annotations

from itertools import product
from typing import Callable

import pandas as pd
from tqdm.auto import tqdm


def grid_search(score_fn: Callable[..., float], grid: dict, *, higher_is_better: bool = True,
                progress: bool = True) -> pd.DataFrame:
    """Call `score_fn(**params)` for every combination of `grid` ({name: [values, ...]}).

    Returns one row per combination: the parameters and their `score`, best first (ties keep the grid's
    order). `score_fn` should train on the training set and score on the validation set only.
    """
    names = list(grid)
    values = [list(grid[n]) for n in names]
    if not names or not all(values):
        raise ValueError("grid_search needs at least one parameter, each with at least one value")
    rows = []
    for combo in tqdm(list(product(*values)), desc="grid search", disable=not progress):
        params = dict(zip(names, combo))
        rows.append({**params, "score": float(score_fn(**params))})
    table = pd.DataFrame(rows)
    return table.sort_values("score", ascending=not higher_is_better, kind="stable", ignore_index=True)


class Sweep:
    """What `run_sweep` measured: one row per configuration and epoch, and the weights after each epoch.

    `rows` is a list of dicts, e.g. {"hidden_size": 64, "lr": 0.001, "epoch": 3, "train_loss": ...,
    "valid_loss": ..., <metric_column>: ...}. Which row to keep is the reader's decision: this class only
    records, shows and restores.
    """

    def __init__(self, make_model: Callable, model_names: list, train_names: list, metric_column: str):
        self.make_model = make_model
        self.model_names, self.train_names = list(model_names), list(train_names)
        self.metric_column = metric_column
        self.rows: list[dict] = []
        self.histories: dict = {}     # configuration (a tuple of the grid's values) -> its History
        self._weights: dict = {}      # configuration + (epoch,) -> state dict on the CPU

    @property
    def names(self) -> list:
        return self.model_names + self.train_names

    def _config(self, row) -> tuple:
        try:
            return tuple(row[n] for n in self.names)
        except (KeyError, IndexError, TypeError):
            raise KeyError(f"a sweep row needs the keys {self.names + ['epoch']}, got {row!r}") from None

    def record(self, config: tuple, epoch: int, model, history) -> None:
        """Keep epoch `epoch` (1-based) of `config`: its numbers and a CPU copy of the model's weights."""
        row = dict(zip(self.names, config))
        row.update(epoch=epoch, train_loss=float(history.train_loss[-1]), valid_loss=float(history.valid_loss[-1]))
        if history.valid_metric:
            row[self.metric_column] = float(history.valid_metric[-1])
        self.rows.append(row)
        self._weights[config + (epoch,)] = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}

    def table(self) -> pd.DataFrame:
        """All rows as a DataFrame, in the order they were trained."""
        return pd.DataFrame(self.rows)

    def by_epoch(self, column: str | None = None) -> pd.DataFrame:
        """One column per configuration, one line per epoch: `column` (default: the validation metric)."""
        return self.table().pivot_table(index="epoch", columns=self.names, values=column or self.metric_column)

    def history(self, row):
        """The History of the configuration of `row` (all its epochs)."""
        return self.histories[self._config(row)]

    def model(self, row):
        """A new model of `row`'s configuration with the weights it had after `row`'s epoch."""
        config = self._config(row)
        key = config + (int(row["epoch"]),)
        if key not in self._weights:
            raise KeyError(f"the sweep has no weights for {dict(zip(self.names, config))}, epoch {row['epoch']}")
        model = self.make_model(**dict(zip(self.model_names, config[:len(self.model_names)])))
        model.load_state_dict(self._weights[key])
        return model

    def plot(self, ax=None, title: str = ""):
        """The validation metric by epoch, one curve per configuration."""
        import matplotlib.pyplot as plt

        ax = ax or plt.subplots(figsize=(5, 3))[1]
        table = self.table()
        for config, part in table.groupby(self.names, sort=False):
            config = config if isinstance(config, tuple) else (config,)
            label = ", ".join(f"{n} {v:g}" for n, v in zip(self.names, config))
            ax.plot(part["epoch"], part[self.metric_column], marker="o", label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(self.metric_column.replace("_", " "))
        ax.set_title(title)
        ax.legend(fontsize="small")
        return ax


def run_sweep(make_model: Callable, train: Callable, model_grid: dict, train_grid: dict | None = None, *,
              metric_column: str = "valid_metric") -> Sweep:
    """Train one model per combination of `model_grid` and `train_grid`, keeping every epoch.

    `make_model(**model_params)` builds a model (e.g. {"hidden_size": [64, 128]}); `train(model,
    on_epoch=..., **train_params)` trains it (e.g. {"lr": [1e-3, 3e-3]}) with `course_lib.training.fit`,
    passing `on_epoch` on to it, and returns fit's History. Returns a `Sweep`: every epoch's training
    loss, validation loss and validation metric (column `metric_column`), and its weights.
    """
    train_grid = dict(train_grid or {})
    names = list(model_grid) + list(train_grid)
    values = [list(model_grid[n]) for n in model_grid] + [list(train_grid[n]) for n in train_grid]
    if not model_grid or not all(values):
        raise ValueError("run_sweep needs at least one model parameter, each parameter with at least one value")
    sweep = Sweep(make_model, list(model_grid), list(train_grid), metric_column)
    for config in product(*values):
        params = dict(zip(names, config))
        model = make_model(**{n: params[n] for n in model_grid})

        def keep(epoch, model, history, config=config):
            sweep.record(config, epoch + 1, model, history)

        sweep.histories[config] = train(model, on_epoch=keep, **{n: params[n] for n in train_grid})
    return sweep
