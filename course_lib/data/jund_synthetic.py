"""Synthetic JUND data in the real DiskDataset layout, with a known generative model.

Model (per window of 101 bp):
  * bases i.i.d. from a GC-poor background;
  * a JUND site (JASPAR MA0491.1, either strand, uniform position) in a fraction
    `site_rate_pos` of positives and `site_rate_neg` of negatives (decoys);
  * accessibility a ~ Beta(pos_beta) for positives, Beta(neg_beta) for negatives;
  * short runs of N (all-zero rows) masked in afterwards, independent of the class.
Because every factor is known, the Bayes-optimal classifier is known too: the writer
reports its weighted accuracy (the ceiling for this data) and AUROC on every split.
"""
from __future__ import annotations

import gzip
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import numpy as np

from . import manifest
from ..motifs import load_motif, log_mean_site_ratio, plant_sites, sample_background
from .jund import REAL_SIZES, SEQ_LEN, SPLITS, balanced_weights, split_dir

FORMAT_VERSION = 1


@dataclass(frozen=True)
class JUNDGenerator:
    """Parameters of the synthetic JUND generative model (all of them are reported)."""
    sizes: dict = field(default_factory=lambda: dict(REAL_SIZES))
    positive_fraction: float = 0.0042
    motif_id: str = "MA0491.1"
    background: tuple = (0.295, 0.205, 0.205, 0.295)
    site_rate_pos: float = 0.7
    site_rate_neg: float = 0.03
    pos_beta: tuple = (3.0, 3.0)
    neg_beta: tuple = (2.0, 5.0)
    n_run_rate: float = 0.004
    max_n_run: int = 20

    def pwm(self) -> np.ndarray:
        return load_motif(self.motif_id).pwm()

    def bayes_log_odds(self, seqs: np.ndarray, a: np.ndarray) -> np.ndarray:
        """log P(x, a | bound) - log P(x, a | unbound) under this model, per row."""
        from scipy import stats   # only when generating: reading data never imports scipy
        s = log_mean_site_ratio(seqs, self.pwm(), self.background)
        p, e = self.site_rate_pos, self.site_rate_neg
        seq_term = np.logaddexp(np.log(p) + s, np.log1p(-p)) - np.logaddexp(np.log(e) + s, np.log1p(-e))
        a = np.clip(a.reshape(-1), 1e-6, 1 - 1e-6)
        acc_term = stats.beta.logpdf(a, *self.pos_beta) - stats.beta.logpdf(a, *self.neg_beta)
        return seq_term + acc_term

    def sample(self, n: int, rng: np.random.Generator):
        """(seq indices (n, 101) int8 with -1 for N, y (n, 1), a (n, 1))."""
        n_pos = max(1, int(round(n * self.positive_fraction)))
        y = np.zeros(n, np.int64)
        y[rng.choice(n, n_pos, replace=False)] = 1
        seqs = sample_background(rng, (n, SEQ_LEN), self.background)
        site_rate = np.where(y == 1, self.site_rate_pos, self.site_rate_neg)
        with_site = np.flatnonzero(rng.random(n) < site_rate)
        plant_sites(rng, seqs, with_site, self.pwm())
        a = np.where(y == 1, rng.beta(*self.pos_beta, n), rng.beta(*self.neg_beta, n))
        masked = np.flatnonzero(rng.random(n) < self.n_run_rate)
        for row in masked:  # few rows: a loop is fine
            run = rng.integers(1, self.max_n_run + 1)
            start = rng.integers(0, SEQ_LEN - run + 1)
            seqs[row, start:start + run] = -1
        return seqs, y.reshape(n, 1), a.reshape(n, 1).astype(np.float32)


def bayes_scores(gen: JUNDGenerator, seqs: np.ndarray, y: np.ndarray, a: np.ndarray, w: np.ndarray) -> dict:
    """Weighted accuracy and AUROC of the Bayes-optimal rule (log-odds > 0 with balanced weights)."""
    from sklearn.metrics import roc_auc_score

    log_odds = gen.bayes_log_odds(seqs, a)
    y = y.reshape(-1)
    w = w.reshape(-1)
    correct = (log_odds > 0) == (y == 1)
    return {"weighted_accuracy": float((w * correct).sum() / w.sum()),
            "auroc": float(roc_auc_score(y, log_odds))}


def _to_one_hot(seqs: np.ndarray) -> np.ndarray:
    X = np.zeros(seqs.shape + (4,), np.int8)
    known = seqs >= 0
    X[known, seqs[known]] = 1
    return X


def _write_split(d: Path, X, y, w, a, ids) -> None:
    d.mkdir(parents=True, exist_ok=True)
    for key, arr in (("X", X), ("y", y), ("w", w), ("a", a), ("ids", ids)):
        joblib.dump(arr, d / f"shard-0-{key}.joblib")
    with gzip.open(d / "metadata.csv.gzip", "wt") as fh:  # DeepChem's own bookkeeping files
        fh.write("ids,X,y,w\nshard-0-ids.joblib,shard-0-X.joblib,shard-0-y.joblib,shard-0-w.joblib\n")
    (d / "tasks.json").write_text("[0]")


def write_synthetic(data_dir, seed: int = 0, generator: JUNDGenerator | None = None,
                    force: bool = False) -> dict:
    """Write train/valid/test splits in the DiskDataset layout; returns the manifest.

    Cached: if the folder already holds data from the same parameters and seed, nothing is written.
    A folder holding files course_lib did not write is refused (manifest.ForeignFilesError).
    """
    gen = generator or JUNDGenerator()
    params = manifest.params_of(format_version=FORMAT_VERSION, seed=seed, generator=gen)
    return manifest.write_once(data_dir, params, lambda d: _write_splits(d, gen, seed), force)


def _write_splits(d: Path, gen: JUNDGenerator, seed: int) -> dict:
    streams = np.random.SeedSequence(seed).spawn(len(SPLITS))
    ceilings, offset = {}, 0
    for split, stream in zip(SPLITS, streams):
        rng = np.random.default_rng(stream)
        n = gen.sizes[split]
        seqs, y, a = gen.sample(n, rng)
        w = balanced_weights(y).astype(np.float64)
        starts = offset + SEQ_LEN * np.arange(n)
        offset += SEQ_LEN * n
        ids = np.array([f"synthetic:{s}-{s + SEQ_LEN}" for s in starts])
        _write_split(split_dir(d, split), _to_one_hot(seqs), y, w, a, ids)
        ceilings[split] = bayes_scores(gen, seqs, y, a, w)
    return {"bayes_optimal": ceilings,
            "note": "synthetic JUND data; bayes_optimal is the ceiling of any classifier on it"}
