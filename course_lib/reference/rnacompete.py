"""Reference solutions for the `rnacompete` assignment."""
from __future__ import annotations

import math

import torch
from torch import nn

from ..training import fit

SEQ_LEN = 41


def _flat_pair(preds: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor):
    """preds, targets, mask as flat tensors of equal length (mask as bool)."""
    preds, targets, mask = (torch.as_tensor(t) for t in (preds, targets, mask))
    preds = preds.reshape(-1)
    targets = targets.reshape(-1).to(preds.device)
    mask = mask.reshape(-1).to(preds.device) > 0
    if not preds.numel() == targets.numel() == mask.numel():
        raise ValueError(f"sizes differ: preds {preds.numel()}, targets {targets.numel()}, mask {mask.numel()}")
    return preds, targets, mask


def masked_mse_loss(preds: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the entries where mask is nonzero (a 0-d tensor).

    Masked-out targets may hold anything, NaN included: they never enter the sum.
    An all-zero mask gives a loss of 0 (still connected to `preds`, so backward works).
    """
    preds, targets, mask = _flat_pair(preds, targets, mask)
    diff = torch.where(mask, preds - targets.to(preds.dtype), torch.zeros_like(preds))
    return (diff ** 2).sum() / mask.sum().clamp(min=1)


def average_ranks(values: torch.Tensor) -> torch.Tensor:
    """1-based ranks of a 1-d tensor, ties sharing the average of their ranks (as scipy.stats.rankdata)."""
    _, inverse, counts = torch.unique(values, sorted=True, return_inverse=True, return_counts=True)
    ends = torch.cumsum(counts, 0).to(torch.float64)
    return (ends - (counts.to(torch.float64) - 1) / 2)[inverse]


def masked_spearman(preds: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> float:
    """Spearman rank correlation of preds and targets over the entries where mask is nonzero.

    Ties get average ranks, so the result equals scipy.stats.spearmanr on the same entries.
    Fewer than two valid entries raise ValueError (a correlation needs at least two points);
    if either side is constant the correlation is undefined and, as in SciPy, nan is returned.
    """
    preds, targets, mask = _flat_pair(preds, targets, mask)
    n = int(mask.sum())
    if n < 2:
        raise ValueError(f"masked_spearman needs at least 2 entries with mask 1, got {n}")
    with torch.no_grad():
        rp = average_ranks(preds[mask].detach().to(torch.float64))
        rt = average_ranks(targets[mask].detach().to(torch.float64))
        rp, rt = rp - rp.mean(), rt - rt.mean()
        denom = torch.sqrt((rp ** 2).sum() * (rt ** 2).sum())
        if denom == 0:
            return float("nan")
        return float((rp * rt).sum() / denom)


def _with_channel(x: torch.Tensor) -> torch.Tensor:
    """(B, 41, 4) -> (B, 1, 41, 4); (B, 1, 41, 4) is returned as is."""
    if x.dim() == 3:
        return x.unsqueeze(1)
    if x.dim() == 4 and x.shape[1] == 1:
        return x
    raise ValueError(f"expected input of shape (B, {SEQ_LEN}, 4) or (B, 1, {SEQ_LEN}, 4), got {tuple(x.shape)}")


class DeepBindCNN(nn.Module):
    """DeepBind: motif detectors (Conv2d, kernel motif_len x 4) -> ReLU -> max over positions -> MLP -> 1 value."""

    def __init__(self, motif_len: int = 24, num_filters: int = 64, hidden: int = 32, dropout: float = 0.5):
        super().__init__()
        self.conv = nn.Conv2d(1, num_filters, kernel_size=(motif_len, 4))
        self.head = nn.Sequential(
            nn.Dropout(dropout), nn.Linear(num_filters, hidden), nn.ReLU(), nn.Dropout(dropout),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(_with_channel(x)))      # (B, F, positions, 1)
        pooled = h.squeeze(3).amax(dim=2)                # global max over positions -> (B, F)
        return self.head(pooled)


class ConvLSTM(nn.Module):
    """DeeperBind-style: the same motif convolution, a stacked LSTM over positions, last step -> MLP -> 1 value."""

    def __init__(self, motif_len: int = 24, num_filters: int = 64, lstm_hidden: int = 32, lstm_layers: int = 2,
                 hidden: int = 32, dropout: float = 0.5):
        super().__init__()
        self.conv = nn.Conv2d(1, num_filters, kernel_size=(motif_len, 4))
        self.lstm = nn.LSTM(num_filters, lstm_hidden, num_layers=lstm_layers, batch_first=True,
                            dropout=dropout if lstm_layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Linear(lstm_hidden, hidden), nn.ReLU(), nn.Dropout(dropout),
                                  nn.Linear(hidden, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv(_with_channel(x)))      # (B, F, positions, 1)
        steps = h.squeeze(3).transpose(1, 2)             # (B, positions, F)
        out, _ = self.lstm(steps)
        return self.head(out[:, -1])                     # the last step has read the whole probe


def _spearman_or_worst(preds, targets, mask) -> float:
    """masked_spearman, with undefined values (constant predictions) counted as -1 when picking the best epoch."""
    value = masked_spearman(preds, targets, mask)
    return value if math.isfinite(value) else -1.0


def train(model: nn.Module, train_loader, valid_loader, epochs: int = 10, lr: float = 1e-3,
          checkpoint="best_model.pt", device=None, progress: bool = True) -> float:
    """Adam on masked MSE; keep (and torch.save to `checkpoint`) the weights with the best validation
    Spearman; return that best validation Spearman. The model ends holding the best weights.

    Batches are (x, y, mask). The saved state dict is a deep copy taken at the best epoch.
    """
    history = fit(model, train_loader, valid_loader, loss_fn=masked_mse_loss, metric_fn=_spearman_or_worst,
                  metric_name="Spearman correlation", epochs=epochs, lr=lr, inputs=(0,), targets=(1, 2), checkpoint=checkpoint, device=device,
                  progress=progress)
    model.history = history  # for plotting the curves in the notebook
    return float(history.best_metric)
