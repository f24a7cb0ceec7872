"""The training helper shared by every assignment.

`fit` trains any model whose batches are tuples of tensors: `inputs` names the
positions passed to `model(*inputs)`, `targets` the positions passed after the
model's output to `loss_fn(output, *targets)` and `metric_fn(output, *targets)`.
It picks the device, seeds, shows a progress bar, records per-epoch train and
validation numbers, and keeps (and restores) the best weights by the validation metric.
"""
from __future__ import annotations

import copy
import random
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, SequentialSampler
from tqdm.auto import tqdm

from .selfcheck import with_hint


def pick_device(prefer: str | None = None) -> torch.device:
    """CUDA when present (or `prefer` if given), else CPU."""
    if prefer is not None:
        return torch.device(prefer)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def make_loader(dataset: Dataset, batch_size: int = 128, shuffle: bool = False, seed: int = 0) -> DataLoader:
    """A DataLoader that asks the dataset for whole batches at once (dataset[list_of_rows]).

    Works with any Dataset whose __getitem__ accepts a list of indices (all the
    course's datasets do); this avoids collating items one by one.
    """
    generator = torch.Generator().manual_seed(seed)
    sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    return DataLoader(dataset, sampler=BatchSampler(sampler, batch_size, drop_last=False), batch_size=None)


@dataclass
class History:
    """What `fit` measured: one entry per epoch, and the epoch whose weights were kept."""
    train_loss: list = field(default_factory=list)
    valid_loss: list = field(default_factory=list)
    valid_metric: list = field(default_factory=list)
    best_epoch: int | None = None
    best_metric: float | None = None
    stopped_early: bool = False
    metric_name: str = "validation metric"   # what `valid_metric` measures (the y-label of its axis)

    def plot(self, ax=None, title: str = ""):
        """Training and validation loss per epoch, and the validation metric (on its own axis, by its name)."""
        from .plots import plot_history
        return plot_history(self, ax=ax, title=title)


def _to_device(batch, device):
    return [t.to(device, non_blocking=True) if torch.is_tensor(t) else t for t in batch]


def _pick(batch, positions: Sequence[int]):
    return [batch[i] for i in positions]


def _run(fn, *args):
    """Call the model or loss; common mistakes come back with a plain-language hint attached."""
    try:
        return fn(*args)
    except (RuntimeError, ValueError) as exc:
        friendly = with_hint(exc)
        if friendly is exc:
            raise
        raise friendly from exc


@torch.no_grad()
def predict(model: torch.nn.Module, loader, inputs: Sequence[int] = (0,), targets: Sequence[int] = (1,),
            device=None):
    """Model outputs over a loader (eval mode) and the matching targets, concatenated on the CPU."""
    device = pick_device() if device is None else torch.device(device)
    model.eval()
    outs, tgts = [], []
    for batch in loader:
        batch = _to_device(batch, device)
        outs.append(_run(model, *_pick(batch, inputs)).detach().cpu())
        tgts.append([t.cpu() for t in _pick(batch, targets)])
    output = torch.cat(outs)
    target = [torch.cat(parts) for parts in zip(*tgts)]
    return output, target


def metric_label(metric_fn: Callable | None) -> str:
    """A readable name for a metric function: `positional_accuracy` -> "positional accuracy".

    Lambdas, private helpers (`_name`) and other callables get "validation metric"."""
    name = getattr(metric_fn, "__name__", "")
    if not name or name.startswith("_") or name == "<lambda>":
        return "validation metric"
    return name.replace("_", " ")


def fit(model: torch.nn.Module, train_loader, valid_loader, *, loss_fn: Callable, epochs: int,
        metric_fn: Callable | None = None, metric_name: str | None = None, higher_is_better: bool = True,
        optimizer=None, lr: float = 1e-3,
        inputs: Sequence[int] = (0,), targets: Sequence[int] = (1,), scheduler=None,
        patience: int | None = None, grad_clip: float | None = None, checkpoint=None,
        device=None, seed: int | None = 0, progress: bool = True, on_epoch: Callable | None = None) -> History:
    """Train `model` for up to `epochs`; restore the best epoch's weights; return the History.

    The best epoch is the one with the best `metric_fn` on the whole validation set
    (or the lowest validation loss without one). `patience` stops after that many
    epochs without improvement. `checkpoint`, a path, also saves the best state dict.
    `metric_name` names the metric in plots (default: from `metric_fn`'s name, see `metric_label`).
    `on_epoch(epoch, model, history)`, if given, is called after each epoch has been measured (before
    the best weights are restored at the end), e.g. to keep every epoch's numbers and weights.
    With `valid_loader=None` (training again on training + validation once the epochs are chosen) it
    trains all `epochs`, measures nothing and keeps the last epoch's weights.
    """
    if seed is not None:
        seed_everything(seed)
    device = pick_device() if device is None else torch.device(device)
    model.to(device)
    optimizer = optimizer or torch.optim.Adam(model.parameters(), lr=lr)
    history, best_state, since_best = History(metric_name=metric_name or metric_label(metric_fn)), None, 0
    bar = tqdm(range(epochs), desc=type(model).__name__, disable=not progress)
    for epoch in bar:
        model.train()
        total, count = 0.0, 0
        for batch in train_loader:
            batch = _to_device(batch, device)
            loss = _run(loss_fn, _run(model, *_pick(batch, inputs)), *_pick(batch, targets))
            optimizer.zero_grad()
            loss.backward()
            if grad_clip is not None:
                torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            n = len(batch[0])
            total, count = total + loss.item() * n, count + n
        history.train_loss.append(total / max(count, 1))
        if valid_loader is None:
            if on_epoch is not None:
                on_epoch(epoch, model, history)
            if scheduler is not None and not isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step()
            bar.set_postfix(train_loss=f"{history.train_loss[-1]:.4f}")
            continue
        output, target = predict(model, valid_loader, inputs, targets, device)
        with torch.no_grad():
            valid_loss = float(loss_fn(output, *target))
        history.valid_loss.append(valid_loss)
        score = float(metric_fn(output, *target)) if metric_fn is not None else -valid_loss
        if metric_fn is not None:
            history.valid_metric.append(score)
        better = history.best_metric is None or (score > history.best_metric if (higher_is_better or metric_fn is None)
                                                 else score < history.best_metric)
        if better:
            history.best_epoch, history.best_metric, since_best = epoch, score, 0
            best_state = copy.deepcopy(model.state_dict())
            if checkpoint is not None:
                torch.save(best_state, checkpoint)
        else:
            since_best += 1
        if on_epoch is not None:
            on_epoch(epoch, model, history)
        if scheduler is not None:
            if isinstance(scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
                scheduler.step(valid_loss)
            else:
                scheduler.step()
        bar.set_postfix(train_loss=f"{history.train_loss[-1]:.4f}", valid_loss=f"{valid_loss:.4f}",
                        **({"valid_metric": f"{score:.4f}"} if metric_fn is not None else {}))
        if patience is not None and since_best >= patience:
            history.stopped_early = True
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    if metric_fn is None and history.best_metric is not None:
        history.best_metric = -history.best_metric  # report the best validation loss itself
    return history
