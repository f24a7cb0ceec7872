"""Reference solutions for the `ctcf_saliency` assignment."""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn

from ..encoding import DNA, to_indices
from ..motifs import dinucleotide_shuffle as _shuffle_indices


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


def dinucleotide_shuffle(seq: str, rng: np.random.Generator) -> str:
    """A random DNA string with exactly the dinucleotide counts of `seq` (Altschul–Erickson Eulerian walk)."""
    idx = to_indices(seq, unknown="")
    return "".join(DNA[i] for i in _shuffle_indices(idx, rng))
