"""Binary-classification report: the numbers every assignment prints for its test set."""
from __future__ import annotations

import numpy as np


def _flat(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64).reshape(-1)


def binary_report(scores, y_true, weight=None, threshold: float = 0.0) -> dict:
    """Precision, recall, F1, AUROC and accuracy of `scores > threshold`.

    `scores` are logits by default (threshold 0); pass threshold=0.5 for probabilities. With
    `weight` (one per example) the accuracy is weighted and reported as `weighted_accuracy`.
    """
    from sklearn.metrics import f1_score, precision_score, recall_score, roc_auc_score  # slow import: on first use
    s, y = _flat(scores), _flat(y_true)
    pred = (s > threshold).astype(int)
    w = np.ones_like(y) if weight is None else _flat(weight)
    accuracy = "accuracy" if weight is None else "weighted_accuracy"
    return {
        "precision": float(precision_score(y, pred, zero_division=0)),
        "recall": float(recall_score(y, pred, zero_division=0)),
        "f1": float(f1_score(y, pred, zero_division=0)),
        "auroc": float(roc_auc_score(y, s)) if 0 < y.sum() < y.size else float("nan"),
        accuracy: float((w * (pred == y)).sum() / w.sum()),
    }
