"""Reference solutions for the `jund` assignment."""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def _flat_float(x, name: str) -> np.ndarray:
    if torch.is_tensor(x):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    if arr.ndim > 2 or (arr.ndim == 2 and arr.shape[1] != 1):
        raise ValueError(f"{name} must have shape (N,) or (N, 1), got {arr.shape}")
    return arr.reshape(-1)


def weighted_accuracy(predicted_y, true_y, weight) -> float:
    """Sum of the weights of correct predictions divided by the total weight."""
    pred = _flat_float(predicted_y, "predicted_y")
    true = _flat_float(true_y, "true_y")
    w = _flat_float(weight, "weight")
    if not pred.size == true.size == w.size:
        raise ValueError(f"lengths differ: predicted_y {pred.size}, true_y {true.size}, weight {w.size}")
    total = w.sum()
    if total == 0:
        raise ValueError("total weight is zero: weighted accuracy is undefined")
    return float((w * (pred == true)).sum() / total)


def weighted_bce_loss(logits: torch.Tensor, y: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Mean over the batch of w_i * BCE(sigmoid(logit_i), y_i), computed stably from logits."""
    y = y.reshape(logits.shape).to(logits.dtype)
    w = w.reshape(logits.shape).to(logits.dtype)
    return F.binary_cross_entropy_with_logits(logits, y, weight=w)


class MLP(nn.Module):
    """Flattened one-hot (404) -> two hidden layers -> concat accessibility -> one logit."""

    def __init__(self, hidden_size: int = 128, dropout: float = 0.3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Flatten(),
            nn.Linear(101 * 4, hidden_size), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden_size, hidden_size), nn.ReLU(), nn.Dropout(dropout),
        )
        self.out = nn.Linear(hidden_size + 1, 1)

    def forward(self, X: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return self.out(torch.cat([self.body(X), a.reshape(-1, 1)], dim=1))


class CNN(nn.Module):
    """Conv1d motif scanner -> ReLU -> dropout -> max-pool -> flatten -> MLP head with accessibility."""

    def __init__(self, n_filters: int = 32, kernel_size: int = 11, pool_size: int = 10,
                 hidden_size: int = 64, dropout: float = 0.3, seq_len: int = 101):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(in_channels=4, out_channels=n_filters, kernel_size=kernel_size),
            nn.ReLU(), nn.Dropout(dropout), nn.MaxPool1d(pool_size), nn.Flatten(),
        )
        n_flat = n_filters * ((seq_len - kernel_size + 1) // pool_size)
        self.hidden = nn.Sequential(nn.Linear(n_flat, hidden_size), nn.ReLU(), nn.Dropout(dropout))
        self.out = nn.Linear(hidden_size + 1, 1)

    def forward(self, X: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        h = self.hidden(self.conv(X.transpose(1, 2)))  # (B, L, 4) -> (B, 4, L)
        return self.out(torch.cat([h, a.reshape(-1, 1)], dim=1))


class LSTMClassifier(nn.Module):
    """LSTM over positions; last hidden state + accessibility -> two FC layers -> one logit."""

    def __init__(self, hidden_size: int = 64, fc_size: int = 32, dropout: float = 0.3):
        super().__init__()
        self.lstm = nn.LSTM(input_size=4, hidden_size=hidden_size, batch_first=True)
        self.head = nn.Sequential(
            nn.Linear(hidden_size + 1, fc_size), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(fc_size, 1),
        )

    def forward(self, X: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        _, (h_n, _) = self.lstm(X)
        return self.head(torch.cat([h_n[-1], a.reshape(-1, 1)], dim=1))


SMALL_DATA_HIDDEN = 32                          # a small head for a few hundred bound windows
SMALL_DATA_LR, SMALL_DATA_WEIGHT_DECAY = 3e-3, 1e-2   # its AdamW, as the notebook trains it
SMALL_DATA_POOL = 30                            # 3 wide bins of the 91 filter positions
JUND_MOTIF_ID = "MA0491.1"                      # JASPAR's JUND matrix (TGAsTCA, the TRE site), 11 bases wide
JUND_MOTIF_IDS = (JUND_MOTIF_ID, "MA0492.2")    # + JASPAR's second JUND matrix (TGATGTCA, CRE-like), 11 wide


def small_data_cnn(hidden_size: int = SMALL_DATA_HIDDEN, motif_ids=JUND_MOTIF_IDS, pool_size: int = SMALL_DATA_POOL,
                   seq_len: int = 101) -> nn.Module:
    """The notebook's CNN for little data: filters as wide as the JUND motif, max-pooled in a few wide
    bins, scored on both strands, and 4 filters that start as each matrix of `motif_ids` (none: `()`)."""
    from course_lib.motifs import load_motif
    from course_lib.recipes import StrandAveraged, seed_filters_with_motif
    width = len(load_motif(JUND_MOTIF_ID))
    model = StrandAveraged(CNN(kernel_size=width, pool_size=pool_size, hidden_size=hidden_size, seq_len=seq_len))
    if not motif_ids:
        return model
    return seed_filters_with_motif(model, [load_motif(m).pwm() for m in motif_ids], n_filters=4)


def previous_small_data_cnn(hidden_size: int = SMALL_DATA_HIDDEN, seq_len: int = 101) -> nn.Module:
    """The recipe the notebook taught before 7 December 2026, kept for the benches' comparison: one max
    over all positions and 4 filters seeded with MA0491.1 only."""
    from course_lib.motifs import load_motif
    width = len(load_motif(JUND_MOTIF_ID))
    return small_data_cnn(hidden_size, (JUND_MOTIF_ID,), pool_size=seq_len - width + 1, seq_len=seq_len)


def choose_config(rows):
    """The sweep row (configuration and epoch) with the highest validation weighted accuracy.

    `rows` holds one dict per configuration and epoch, as `run_sweep` records them (keys such as
    hidden_size, lr, epoch, train_loss, valid_loss, valid_weighted_accuracy). A tie goes to the earlier row.
    """
    rows = list(rows)
    if not rows:
        raise ValueError("the sweep has no rows to choose from")
    return max(rows, key=lambda row: row["valid_weighted_accuracy"])
