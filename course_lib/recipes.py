"""Recipes for learning from small, imbalanced real sequence data.

The pieces the reference notebooks use when a model has only a few thousand (or a few
hundred bound) sequences to learn from:

* `reverse_complement`: the other strand of a one-hot (A C G T) batch. A transcription factor
  binds double-stranded DNA, so a window and its reverse complement carry the same label.
* `RCAugment`: a loader wrapper that replaces a random half of every training batch by its
  reverse complement (twice the examples for free, and the filters learn both orientations).
* `StrandAveraged`: a model wrapper whose output is the mean of the model's outputs on both
  strands, so the prediction no longer depends on which strand the file happens to list.
* `stratified_split`, `gc_content`, `gc_shifted_split`: fixed, seeded splits that keep rare
  positives in every part, or that draw the test set from the GC-richest sequences (a data shift).
* `seed_filters_with_motif`: start a few filters of the first convolution as known motifs (their
  log-odds matrices), so training begins from detectors of the sites instead of from noise.
* `best_of_seeds`: train several seeds, keep the one that does best on validation;
  `MeanOfModels`: or keep them all and average their outputs (a small ensemble).
"""
from __future__ import annotations

from typing import Callable, Iterable, Sequence

import numpy as np
import torch
from torch import nn


def reverse_complement(X):
    """The reverse complement of one-hot sequences `(..., L, 4)` in A C G T order.

    Positions run backwards and each base becomes its partner (A<->T, C<->G); with the
    channels in A C G T order that is reversing the channel axis. All-zero rows (N) stay
    all-zero. Works on torch tensors (any device, gradients flow) and NumPy arrays.
    """
    if X.shape[-1] != 4:
        raise ValueError(f"expected one-hot sequences with 4 channels last (..., L, 4), got shape {tuple(X.shape)}")
    if torch.is_tensor(X):
        return X.flip(dims=(-2, -1))
    return np.ascontiguousarray(np.asarray(X)[..., ::-1, ::-1])


class RCAugment:
    """Wrap a training loader: each sequence of a batch is reverse-complemented with probability `p`.

    `position` is the index of the one-hot tensor `(B, L, 4)` in each batch tuple; the other
    entries (labels, weights, accessibility, ...) pass through unchanged. A fixed `seed` makes
    the flips reproducible; every pass over the loader draws new flips.
    """

    def __init__(self, loader, p: float = 0.5, position: int = 0, seed: int = 0):
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"p must be a probability in [0, 1], got {p}")
        self.loader, self.p, self.position = loader, p, position
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        for batch in self.loader:
            batch = list(batch)
            X = batch[self.position]
            flip = torch.rand(X.shape[0], generator=self.generator) < self.p
            shape = (-1,) + (1,) * (X.dim() - 1)
            batch[self.position] = torch.where(flip.to(X.device).reshape(shape), reverse_complement(X), X)
            yield tuple(batch)


class StrandAveraged(nn.Module):
    """`model` applied to both strands; the output is the mean of the two (logits, or any output).

    `forward(X, *rest)` passes `rest` (e.g. accessibility) unchanged to both calls. The result
    is the same for a sequence and its reverse complement: it is strand-invariant by construction.
    """

    def __init__(self, model: nn.Module, position: int = 0):
        super().__init__()
        self.model = model
        self.position = position

    def forward(self, *inputs):
        flipped = list(inputs)
        flipped[self.position] = reverse_complement(inputs[self.position])
        return 0.5 * (self.model(*inputs) + self.model(*flipped))


class MeanOfModels(nn.Module):
    """The mean output of several models given the same inputs (e.g. one network trained from several seeds).

    Each seed's network makes its own mistakes; on a small data set their average is usually better
    than any single one, and it no longer hangs on the luck of one initialization.
    """

    def __init__(self, models: Sequence[nn.Module]):
        super().__init__()
        if not models:
            raise ValueError("MeanOfModels needs at least one model")
        self.models = nn.ModuleList(models)

    def forward(self, *inputs):
        return torch.stack([m(*inputs) for m in self.models]).mean(0)


def seed_filters_with_motif(model: nn.Module, pwm, n_filters: int = 4, threshold: float = 0.6) -> nn.Module:
    """Set the first filters of `model`'s first `nn.Conv1d` to a motif, or to several; returns `model`.

    `pwm` is a (length, 4) matrix of base probabilities (e.g. `load_motif("MA0491.1").pwm()`), or a
    list of them: each matrix gets `n_filters` filters, in order (two matrices and `n_filters=4` seed
    filters 0-3 and 4-7). Each filter gets its log-odds against a uniform background, centred per
    position and placed in the middle of the kernel; the bias is `-threshold` times the best possible
    score, so after the ReLU the filter fires only on windows that hold a good match. The other
    filters keep their random start, and training may change all of them.
    """
    conv = next((m for m in model.modules() if isinstance(m, nn.Conv1d)), None)
    if conv is None or conv.in_channels != 4:
        raise ValueError("seed_filters_with_motif needs a model whose first nn.Conv1d reads the 4 bases "
                         f"(in_channels=4); found {conv!r}")
    pwms = list(pwm) if isinstance(pwm, (list, tuple)) else [pwm]
    if len(pwms) * n_filters > conv.out_channels:
        raise ValueError(f"{len(pwms)} motif(s) x {n_filters} filters need {len(pwms) * n_filters} filters, "
                         f"but the first nn.Conv1d has only {conv.out_channels}")
    for k, matrix in enumerate(pwms):
        _seed_filters(conv, _centred_log_odds(matrix, conv.kernel_size[0]), range(k * n_filters, (k + 1) * n_filters),
                      threshold)
    return model


def _centred_log_odds(pwm, width: int) -> np.ndarray:
    """(length, 4) log-odds of a probability matrix against a uniform background, each position centred."""
    pwm = np.asarray(pwm, dtype=np.float64)
    if pwm.ndim != 2 or pwm.shape[1] != 4 or (pwm <= 0).any():
        raise ValueError(f"pwm must be a (length, 4) matrix of positive probabilities, got shape {pwm.shape}")
    if pwm.shape[0] > width:
        raise ValueError(f"the motif is {pwm.shape[0]} bases long but the filters are only {width} wide: "
                         "use kernel_size >= the motif's length")
    log_odds = np.log(pwm / 0.25)
    return log_odds - log_odds.mean(1, keepdims=True)


def _seed_filters(conv: nn.Conv1d, log_odds: np.ndarray, filters: range, threshold: float) -> None:
    """Write `log_odds` into the middle of each filter in `filters`, with the bias of the threshold."""
    weights = torch.as_tensor(log_odds.T.copy(), dtype=conv.weight.dtype, device=conv.weight.device)  # (4, length)
    start = (conv.kernel_size[0] - log_odds.shape[0]) // 2
    with torch.no_grad():
        for i in filters:
            conv.weight[i].zero_()
            conv.weight[i, :, start:start + log_odds.shape[0]] = weights
            if conv.bias is not None:
                conv.bias[i] = -threshold * float(log_odds.max(1).sum())


def stratified_split(labels, fractions: Sequence[float] = (0.6, 0.2, 0.2), seed: int = 0,
                     names: Sequence[str] = ("train", "valid", "test")) -> dict[str, np.ndarray]:
    """Sorted row indices of each part, every class cut in the same `fractions` (fixed `seed`).

    With 146 bound windows in 34,527, a plain random cut can leave a part with a handful of
    positives; cutting each class separately gives every part its share.
    """
    labels = np.asarray(labels).reshape(-1)
    fractions = np.asarray(fractions, dtype=np.float64)
    if len(fractions) != len(names) or fractions.min() <= 0 or not np.isclose(fractions.sum(), 1.0):
        raise ValueError(f"fractions must be {len(names)} positive numbers summing to 1, got {list(fractions)}")
    rng = np.random.default_rng(seed)
    parts: dict[str, list] = {name: [] for name in names}
    for cls in np.unique(labels):
        rows = rng.permutation(np.flatnonzero(labels == cls))
        cuts = np.round(np.cumsum(fractions)[:-1] * rows.size).astype(int)
        for name, chunk in zip(names, np.split(rows, cuts)):
            parts[name].append(chunk)
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def gc_content(seqs) -> np.ndarray:
    """Fraction of G and C per sequence: strings, or one-hot `(N, L, 4)` (N rows are left out)."""
    if isinstance(seqs, np.ndarray) and seqs.ndim == 3:
        counts = seqs.sum(axis=1).astype(np.float64)
        return (counts[:, 1] + counts[:, 2]) / np.maximum(counts.sum(1), 1)
    out = np.empty(len(seqs))
    for i, s in enumerate(seqs):
        s = s.upper()
        known = sum(s.count(b) for b in "ACGT")
        out[i] = (s.count("G") + s.count("C")) / max(known, 1)
    return out


def gc_shifted_split(seqs, labels, test_fraction: float = 0.2, valid_fraction: float = 0.1,
                     pool_fraction: float = 0.7, seed: int = 0) -> dict[str, np.ndarray]:
    """A split with a GC shift: the test set comes from the GC-richest sequences of each class.

    Within each class, the test set is a random `test_fraction` of all rows drawn from the
    GC-richest `pool_fraction` (1.0: a plain random split; `test_fraction`: strictly the richest).
    On the course's binding-site CSV (GC 0.589) the default 0.7 gives a test set of GC about 0.64,
    like the course's separate 2021 test file (0.641). Train and validation (a random `valid_fraction`
    of the rest, per class) never see the shifted part, so model selection cannot adapt to it.
    """
    if not 0 < test_fraction <= pool_fraction <= 1:
        raise ValueError(f"need 0 < test_fraction <= pool_fraction <= 1, got {test_fraction}, {pool_fraction}")
    labels = np.asarray(labels).reshape(-1)
    gc = gc_content(seqs)
    rng = np.random.default_rng(seed)
    test, valid, train = [], [], []
    for cls in np.unique(labels):
        rows = np.flatnonzero(labels == cls)
        order = rows[np.lexsort((rng.random(rows.size), gc[rows]))]   # by GC, random among ties
        pool = order[rows.size - int(round(pool_fraction * rows.size)):]
        picked = rng.choice(pool, size=int(round(test_fraction * rows.size)), replace=False)
        rest = rng.permutation(np.setdiff1d(rows, picked))
        n_valid = int(round(valid_fraction * rest.size))
        test.append(picked)
        valid.append(rest[:n_valid])
        train.append(rest[n_valid:])
    return {name: np.sort(np.concatenate(p)) for name, p in (("train", train), ("valid", valid), ("test", test))}


def best_of_seeds(run: Callable[[int], tuple], seeds: Iterable[int] = (0, 1, 2), higher_is_better: bool = True):
    """Call `run(seed)` for each seed; it returns `(validation score, anything)`. Keep the best on validation.

    Returns `(best seed, its score, its result, {seed: score})`. On a small data set the luck of the
    initialization moves the result by more than many hyper-parameters do: a few seeds, chosen on
    validation (never on test), make the outcome much more repeatable.
    """
    scores, best = {}, None
    for seed in seeds:
        score, result = run(seed)
        scores[seed] = float(score)
        if best is None or (score > best[1] if higher_is_better else score < best[1]):
            best = (seed, float(score), result)
    if best is None:
        raise ValueError("best_of_seeds needs at least one seed")
    return best[0], best[1], best[2], scores
