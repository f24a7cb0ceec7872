"""Reference solutions for the `hmm_gru` assignment: tag HMM hidden states with a GRU."""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..encoding import DNA, to_indices
from ..hmm import STATES, alignment_text
from ..training import fit, make_loader

ALPHABETS = {"dna": DNA, "state": STATES}


def _alphabet(seqtype: str) -> str:
    if seqtype not in ALPHABETS:
        raise ValueError(f"seqtype must be one of {sorted(ALPHABETS)}, got {seqtype!r}")
    return ALPHABETS[seqtype]


def encode_seq(symbols: str, seqtype: str) -> torch.Tensor:
    """A DNA ('dna': A,C,G,T -> 0..3) or state ('state': H,L -> 0,1) string -> 1-D int64 tensor.

    Any other letter raises ValueError naming it and its position.
    """
    if not isinstance(symbols, str):
        raise TypeError(f"symbols must be a string, got {type(symbols).__name__}")
    idx = to_indices(symbols, _alphabet(seqtype), unknown="")
    return torch.from_numpy(idx.astype(np.int64))


def decode_seq(indices, seqtype: str) -> str:
    """Integer indices (tensor, array or list) -> the DNA or state string; out-of-range indices raise ValueError."""
    alphabet = _alphabet(seqtype)
    if torch.is_tensor(indices):
        indices = indices.detach().cpu().numpy()
    idx = np.asarray(indices)
    if idx.ndim != 1 or (idx.size and not np.issubdtype(idx.dtype, np.integer)):
        raise ValueError(f"indices must be a 1-D sequence of integers, got shape {idx.shape}, dtype {idx.dtype}")
    if idx.size and (idx.min() < 0 or idx.max() >= len(alphabet)):
        raise ValueError(f"indices must lie in 0..{len(alphabet) - 1} for seqtype {seqtype!r}")
    return "".join(np.array(list(alphabet))[idx]) if idx.size else ""


class GRUTagger(nn.Module):
    """Embedding -> GRU -> linear -> log-softmax over the states, at every position.

    Input: (B, L) int64 symbol indices. Output: (B, L, predict_size) log-probabilities.
    """

    def __init__(self, input_size: int, hidden_size: int, predict_size: int, n_layers: int = 1,
                 bidirectional: bool = False):
        super().__init__()
        self.embedding = nn.Embedding(input_size, hidden_size)
        self.gru = nn.GRU(hidden_size, hidden_size, num_layers=n_layers, batch_first=True,
                          bidirectional=bidirectional)
        self.linear = nn.Linear(hidden_size * (2 if bidirectional else 1), predict_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.gru(self.embedding(x))
        return F.log_softmax(self.linear(out), dim=-1)


def tagging_loss(log_probs: torch.Tensor, states: torch.Tensor) -> torch.Tensor:
    """NLLLoss over every position: (B, L, S) log-probabilities against (B, L) state indices."""
    return F.nll_loss(log_probs.reshape(-1, log_probs.shape[-1]), states.reshape(-1))


def positional_accuracy(log_probs: torch.Tensor, states: torch.Tensor) -> float:
    """Fraction of positions whose most likely state is the true one."""
    return float((log_probs.argmax(-1) == states).float().mean())


def train_tagger(model: nn.Module, train_set, valid_set, epochs: int, batch_size: int = 64, lr: float = 1e-2,
                 patience: int | None = None, progress: bool = True):
    """Train on mini-batches of whole sequences with NLLLoss; keep the best epoch by validation accuracy."""
    train_loader = make_loader(train_set, batch_size=batch_size, shuffle=True)
    valid_loader = make_loader(valid_set, batch_size=256)
    return fit(model, train_loader, valid_loader, loss_fn=tagging_loss, metric_fn=positional_accuracy,
               epochs=epochs, lr=lr, patience=patience, grad_clip=1.0, progress=progress)


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")


@torch.no_grad()
def predict(model: nn.Module, dna: str) -> tuple[str, np.ndarray]:
    """(most likely state string, (L, n_states) array of per-position state probabilities)."""
    model.eval()
    x = encode_seq(dna, "dna").unsqueeze(0).to(_model_device(model))
    probs = model(x)[0].exp().cpu().numpy()
    return decode_seq(probs.argmax(-1), "state"), probs


def fraction_matches(seq1, seq2) -> float:
    """Fraction of positions where two equally long sequences agree; ValueError if lengths differ or empty."""
    a, b = np.asarray(list(seq1)), np.asarray(list(seq2))
    if a.size != b.size:
        raise ValueError(f"sequences have different lengths ({a.size} and {b.size})")
    if a.size == 0:
        raise ValueError("both sequences are empty: the fraction of matches is undefined")
    return float((a == b).mean())


def sim_prob_match(fraction: float, symbols, length: int, n_draws: int, seed: int = 0) -> float:
    """Monte Carlo estimate of P(two random sequences agree at >= `fraction` of `length` positions).

    Both sequences draw each position uniformly from the distinct `symbols`, so each position
    matches with probability 1/len(set(symbols)). Deterministic for a given `seed`.
    """
    k = len(set(symbols))
    if k == 0 or length <= 0 or n_draws <= 0:
        raise ValueError("need at least one symbol, length > 0 and n_draws > 0")
    rng = np.random.default_rng(seed)
    need = math.ceil(fraction * length - 1e-9)          # matches needed to reach `fraction`
    chunk = max(1, 2_000_000 // length)                 # bound the memory of one batch of draws
    hits = 0
    for start in range(0, n_draws, chunk):
        n = min(chunk, n_draws - start)
        a = rng.integers(0, k, (n, length), dtype=np.int8)
        b = rng.integers(0, k, (n, length), dtype=np.int8)
        hits += int(((a == b).sum(1) >= need).sum())
    return hits / n_draws


def print_alignment(truth: str, prediction: str, width: int = 80) -> None:
    """Print the alignment of truth and prediction and the fraction of agreeing positions."""
    print(alignment_text(truth, prediction, width))
    print(f"agreement: {fraction_matches(truth, prediction):.1%}")
