"""Reference solutions for the `ctcf_saliency` assignment."""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from ..encoding import DNA, to_indices


class CTCFNet(nn.Module):
    """Conv1d(4->24, kernel 19, same padding) -> ReLU -> MaxPool(25) -> flatten -> dense 64 -> ReLU -> one logit.

    Input (B, L, 4) one-hot; output (B, 1) logits. `seq_len` must be given for other
    lengths than 200 (e.g. 101 for the ENCODE text file).
    """

    def __init__(self, seq_len: int = 200, n_filters: int = 24, kernel_size: int = 19, pool_size: int = 25,
                 hidden_size: int = 64):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(4, n_filters, kernel_size, padding="same"), nn.ReLU(), nn.MaxPool1d(pool_size),
        )
        self.dense = nn.Sequential(
            nn.Flatten(), nn.Linear(n_filters * (seq_len // pool_size), hidden_size), nn.ReLU(),
        )
        self.out = nn.Linear(hidden_size, 1)

    def forward(self, X: torch.Tensor) -> torch.Tensor:
        return self.out(self.dense(self.conv(X.transpose(1, 2))))  # (B, L, 4) -> (B, 4, L)


class CTCFNetRegularized(CTCFNet):
    """CTCFNet with dropout 0.2 after the convolution block and 0.5 after the dense layer."""

    def __init__(self, seq_len: int = 200, conv_dropout: float = 0.2, dense_dropout: float = 0.5, **kwargs):
        super().__init__(seq_len, **kwargs)
        self.conv.append(nn.Dropout(conv_dropout))
        self.dense.append(nn.Dropout(dense_dropout))


class EarlyStopping:
    """Stop when the validation loss has not improved for `patience` epochs; remember the best weights.

    Call `step(val_loss, model)` once per epoch: it returns True when training should
    stop. `restore(model)` loads the weights of the epoch with the lowest loss (a copy
    taken at that epoch, so later training does not change it).
    """

    def __init__(self, patience: int = 5, min_delta: float = 0.0):
        if patience < 1:
            raise ValueError(f"patience must be at least 1, got {patience}")
        self.patience = patience
        self.min_delta = min_delta
        self.best_loss = math.inf
        self.best_epoch: int | None = None
        self.best_state: dict | None = None
        self.bad_epochs = 0
        self.epoch = -1

    def step(self, val_loss: float, model: nn.Module) -> bool:
        """Record one epoch's validation loss; True when `patience` epochs passed without improvement."""
        self.epoch += 1
        val_loss = float(val_loss)
        if val_loss < self.best_loss - self.min_delta:
            self.best_loss, self.best_epoch, self.bad_epochs = val_loss, self.epoch, 0
            self.best_state = copy.deepcopy(model.state_dict())
        else:
            self.bad_epochs += 1
        return self.bad_epochs >= self.patience

    def restore(self, model: nn.Module) -> nn.Module:
        """Load the best epoch's weights into `model` (and return it)."""
        if self.best_state is None:
            raise RuntimeError("no validation loss recorded yet: call step() at least once")
        model.load_state_dict(self.best_state)
        return model


def saliency_map(model: nn.Module, X) -> torch.Tensor:
    """d(logit)/d(input) for every sequence: (N, L, 4), computed in eval mode.

    The model is put in eval mode (dropout off) for the gradient and given back in the
    mode it was in. The gradient is taken of the pre-sigmoid output, whose scale does
    not saturate for confident predictions.
    """
    weight = next(model.parameters())
    X = torch.as_tensor(X).to(device=weight.device, dtype=weight.dtype).detach().clone().requires_grad_(True)
    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(model(X).sum(), X)  # one logit per sequence: the sum's gradient is each one's
    finally:
        model.train(was_training)
    return grad.detach()


def _random_last_exits(rng: np.random.Generator, next_letter: np.ndarray, starts: np.ndarray, last: int) -> np.ndarray:
    """For each letter but `last`, the position (in the edges grouped by letter) of its last exit edge.

    Draws one uniformly random outgoing edge per letter and keeps the draw only if
    following those edges from every letter ends at `last` (no cycle). Each valid
    tree is then equally likely, which makes the final walk uniform (Altschul & Erickson 1985).
    Letters without outgoing edges (and `last`) get -1.
    """
    counts = np.diff(starts)
    has_exit = counts > 0
    has_exit[last] = False
    while True:
        exits = np.where(has_exit, starts[:-1] + np.floor(rng.random(counts.size) * counts).astype(np.int64), -1)
        target = [int(next_letter[e]) if e >= 0 else -1 for e in exits]
        ok = True
        for start in np.flatnonzero(has_exit):
            seen, u = set(), int(start)
            while u != last:
                if u in seen:
                    ok = False
                    break
                seen.add(u)
                u = target[u]
            if not ok:
                break
        if ok:
            return exits


def shuffle_indices(seq_indices, rng: np.random.Generator) -> np.ndarray:
    """A random 1-D symbol array with exactly the same dinucleotide (and letter) counts, first and last symbol.

    Altschul–Erickson: the sequence is an Eulerian walk on the graph whose vertices
    are letters and whose edges are its overlapping dinucleotides. Pick a random tree
    of "last exits" leading to the final letter, shuffle every other exit edge, and
    walk from the first letter; every sequence with the same dinucleotide counts is
    equally likely. Any symbols (e.g. -1 for N); the result has the input's dtype.
    """
    seq = np.asarray(seq_indices)
    if seq.ndim != 1:
        raise ValueError(f"shuffle_indices expects one sequence (1-D), got shape {seq.shape}")
    if seq.size < 3:
        return seq.copy()
    letters, codes = np.unique(seq, return_inverse=True)
    src, dst = codes[:-1], codes[1:]
    by_src = np.argsort(src, kind="stable")            # edges grouped by their first letter
    src_sorted, next_letter = src[by_src], dst[by_src]
    starts = np.concatenate([[0], np.cumsum(np.bincount(src, minlength=letters.size))])
    exits = _random_last_exits(rng, next_letter, starts, int(codes[-1]))
    keys = rng.random(src.size)                        # a random order of each letter's edges ...
    keys[exits[exits >= 0]] = 2.0                      # ... with its last exit at the end
    next_letter = next_letter[np.lexsort((keys, src_sorted))].tolist()
    cursor = starts[:-1].tolist()
    walk = [int(codes[0])]
    for _ in range(seq.size - 1):
        u = walk[-1]
        walk.append(next_letter[cursor[u]])
        cursor[u] += 1
    return letters[np.asarray(walk)].astype(seq.dtype, copy=False)


def dinucleotide_shuffle(seq: str, rng: np.random.Generator) -> str:
    """A random DNA string with exactly the dinucleotide counts of `seq` (Altschul–Erickson Eulerian walk)."""
    idx = to_indices(seq, unknown="")
    return "".join(DNA[i] for i in shuffle_indices(idx, rng))
