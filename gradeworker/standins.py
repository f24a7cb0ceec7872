"""Small models the checks hand to student functions (a training loop, a saliency map, predict).

None of them is an answer to an exercise: each is deliberately simple and different from
the architectures students build. The judge builds the same classes on its side, from its
own copy of this file, to compute what the student's function should have done with them.
"""
from __future__ import annotations

import torch
from torch import nn


class TinyNet(nn.Module):
    """Probability from a flattened one-hot sequence: Flatten, Dropout, Linear(length*4, 1), Sigmoid."""

    def __init__(self, length: int = 12, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(length * 4, 1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


class SteepNet(TinyNet):
    """TinyNet with its logit multiplied by 50: gradients far larger than norm 1."""

    def forward(self, x):
        return torch.sigmoid(50 * self.net[2](self.net[0](x)))


class TinyMLP(nn.Sequential):
    """Linear layers of the given sizes with ReLU between them (e.g. sizes=(4, 3, 1))."""

    def __init__(self, sizes=(2, 1)):
        layers = []
        for i, (a, b) in enumerate(zip(sizes, sizes[1:])):
            if i:
                layers.append(nn.ReLU())
            layers.append(nn.Linear(a, b))
        super().__init__(*layers)


class MotifRegressor(nn.Module):
    """One value per (B, L, 4) sequence: Conv1d, ReLU, max over positions, Linear."""

    def __init__(self, width: int = 6, filters: int = 8):
        super().__init__()
        self.conv = nn.Conv1d(4, filters, width)
        self.out = nn.Linear(filters, 1)

    def forward(self, x):
        if x.dim() == 4:                       # (B, 1, L, 4), as a 2-D convolution would take it
            x = x.squeeze(1)
        h = torch.relu(self.conv(x.transpose(1, 2)))
        return self.out(h.amax(dim=2))


class SaliencyNet(nn.Module):
    """A logit per (B, L, 4) sequence: Conv1d(4, 8, 9), ReLU, optional dropout, global max, Linear."""

    def __init__(self, dropout: float = 0.0):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 9, padding=4)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(8, 1)

    def forward(self, x):
        h = self.drop(torch.relu(self.conv(x.transpose(1, 2))))
        return self.out(h.amax(dim=2))


BASE_LOG_PROBS = ((0.2, 0.8), (0.7, 0.3), (0.9, 0.1), (0.35, 0.65))   # P(H), P(L) for A, C, G, T


class BaseLookupTagger(nn.Module):
    """Per-base state log-probabilities from a table; in training mode the table is flipped."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(torch.log(torch.tensor(BASE_LOG_PROBS)))

    def forward(self, x):
        table = self.table if not self.training else self.table.flip(-1)
        return table[x]


class EmbeddingTagger(nn.Module):
    """State log-probabilities from each symbol alone (Embedding, Linear, log-softmax).

    Records the shape of every input seen in training mode with gradients on, so a check
    can tell how the student's loop fed it.
    """

    def __init__(self, n_symbols: int = 4, dim: int = 8, n_states: int = 2):
        super().__init__()
        self.embed = nn.Embedding(n_symbols, dim)
        self.out = nn.Linear(dim, n_states)
        self.train_batches: list = []

    def forward(self, x):
        if self.training and torch.is_grad_enabled():
            self.train_batches.append(tuple(x.shape))
        return torch.log_softmax(self.out(torch.relu(self.embed(x))), dim=-1)


REGISTRY = {cls.__name__: cls for cls in (TinyNet, SteepNet, TinyMLP, MotifRegressor, SaliencyNet,
                                          BaseLookupTagger, EmbeddingTagger)}


def build(name: str, state: dict | None = None, seed: int = 0, **kwargs) -> nn.Module:
    """A stand-in by class name, initialised from `seed` (or loaded from `state`)."""
    torch.manual_seed(seed)
    model = REGISTRY[name](**kwargs)
    if state is not None:
        model.load_state_dict(state)
    return model
