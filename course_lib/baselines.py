"""Baselines without deep learning: k-mer logistic regression and a PWM scan.

A model that cannot beat these on the same split has not learned much beyond counting letters
or finding the textbook motif. Sequences are given as base indices `(N, L)` (0..3 for A C G T,
-1 for N) — `as_indices` makes them from strings or one-hot arrays.
"""
from __future__ import annotations

import numpy as np
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from .encoding import to_indices
from .motifs import reverse_complement_pwm, site_log_odds


def as_indices(seqs) -> np.ndarray:
    """(N, L) int8 base indices (-1 for N) from a list of equal-length strings or one-hot (N, L, 4)."""
    if isinstance(seqs, np.ndarray) and seqs.ndim == 3:
        idx = seqs.argmax(-1).astype(np.int8)
        idx[seqs.sum(-1) == 0] = -1
        return idx
    return np.stack([to_indices(s) for s in seqs]).astype(np.int8)


def kmer_counts(idx: np.ndarray, k_max: int = 6, both_strands: bool = False) -> sparse.csr_matrix:
    """Counts of every k-mer, k = 1..k_max, per sequence: sparse (N, 4 + 16 + ... + 4**k_max).

    k-mers that overlap an N are skipped. With `both_strands` the counts of the reverse
    complement are added, so a k-mer and its reverse complement share one weight's worth of evidence.
    """
    return _counts(idx, [range(k) for k in range(1, k_max + 1)], both_strands)


def gapped_kmer_counts(idx: np.ndarray, half: int = 3, gaps=(0, 1, 2, 3), both_strands: bool = True) -> sparse.csr_matrix:
    """Counts of two `half`-mers `gap` bases apart, for each gap: sparse (N, len(gaps) * 4**(2*half)).

    `TGA.TCA` (half 3, gap 1) is one feature, whatever base sits in the gap: the features of
    gapped-k-mer models, which suit sites with a variable middle such as JUND's TGA(C/G)TCA.
    """
    return _counts(idx, [[*range(half), *range(half + gap, 2 * half + gap)] for gap in gaps], both_strands)


def _counts(idx, patterns, both_strands: bool) -> sparse.csr_matrix:
    """Sparse counts of the words read at each pattern's offsets, one block of 4**len(offsets) columns per pattern."""
    idx = np.asarray(idx).astype(np.int64)
    if both_strands:
        rc = np.where(idx[:, ::-1] < 0, -1, 3 - idx[:, ::-1])
        return _counts(idx, patterns, False) + _counts(rc, patterns, False)
    n, length = idx.shape
    blocks, offset = [], 0
    for offsets in patterns:
        span = max(offsets) + 1
        codes = np.zeros((n, length - span + 1), np.int64)
        unknown = np.zeros(codes.shape, bool)
        for j in offsets:
            col = idx[:, j:length - span + 1 + j]
            codes, unknown = codes * 4 + np.maximum(col, 0), unknown | (col < 0)
        blocks.append(np.where(unknown, -1, codes + offset))
        offset += 4 ** len(offsets)
    cols = np.concatenate(blocks, axis=1).reshape(-1)
    rows = np.repeat(np.arange(n), sum(b.shape[1] for b in blocks))
    keep = cols >= 0
    return sparse.csr_matrix((np.ones(keep.sum(), np.float32), (rows[keep], cols[keep])), shape=(n, offset))


def kmer_logistic(X: dict, y: dict, Cs=(0.001, 0.01, 0.1), class_weight=None):
    """L2 logistic regression on k-mer counts, C chosen by validation AUROC.

    `X` and `y` map "train" and "valid" (and any other split) to matrices and labels. Returns
    (fitted model, chosen C, {split: decision scores}).
    """
    best = None
    for c in Cs:
        model = LogisticRegression(C=c, max_iter=3000, class_weight=class_weight).fit(X["train"], y["train"])
        score = roc_auc_score(y["valid"], model.decision_function(X["valid"]))
        if best is None or score > best[0]:
            best = (score, c, model)
    _, c, model = best
    return model, c, {name: model.decision_function(m) for name, m in X.items()}


def pwm_scan(idx: np.ndarray, pwm: np.ndarray, background=(0.25, 0.25, 0.25, 0.25)) -> np.ndarray:
    """The best log-odds site score of each sequence over both strands (N,): the classic motif scan."""
    fwd = site_log_odds(idx, pwm, background).max(1)
    rev = site_log_odds(idx, reverse_complement_pwm(pwm), background).max(1)
    return np.maximum(fwd, rev)
