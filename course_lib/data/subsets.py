"""Small stratified subsets used in fast mode."""
from __future__ import annotations

import numpy as np


def stratified_indices(labels: np.ndarray, n: int, min_per_class: int = 0, seed: int = 0) -> np.ndarray:
    """Sorted row indices of a class-stratified subset of about `n` rows.

    Each class keeps its share of `n`, but at least `min_per_class` rows (or all it has).
    """
    labels = np.asarray(labels).reshape(-1)
    if n >= labels.size:
        return np.arange(labels.size)
    rng = np.random.default_rng(seed)
    chosen = []
    classes, counts = np.unique(labels, return_counts=True)
    for cls, count in zip(classes, counts):
        take = max(int(round(n * count / labels.size)), min_per_class)
        rows = np.flatnonzero(labels == cls)
        chosen.append(rng.choice(rows, size=min(take, rows.size), replace=False))
    return np.sort(np.concatenate(chosen))
