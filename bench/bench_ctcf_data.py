"""The CTCF data path: reading the HDF5 and text formats, making negatives, and how well dinucleotide
composition alone separates the synthetic classes.

Negatives are made two ways on the same site carriers: the student build's Markov resampling (the
synthetic data set; both classes resampled once) and the reference's exact dinucleotide shuffle
(format version 1, and what the hidden checks learn on). Composition-only AUROC: gradient boosting
(scikit-learn) on the 16 dinucleotide counts, 16,000 training and 4,000 test sequences; 0.5 is chance.

    python bench/bench_ctcf_data.py
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from course_lib.data import ctcf
from course_lib.data.ctcf_synthetic import CTCFGenerator
from course_lib.datasets import SOURCES
from course_lib.motifs import markov_resample
from course_lib.reference.ctcf_saliency import shuffle_indices

REAL_TEXT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ctcf_encode" / "ctcf_ENCSR000AQU.txt"


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - start


def main() -> None:
    rows = []
    path = ctcf.data_file(SOURCES["ctcf"].ensure()[0])
    ctcf._read_h5_cached.cache_clear()
    splits, seconds = timed(ctcf.read_h5, path)
    n = sum(len(s) for s in splits.values())
    rows.append(("read HDF5 (x transposed to N,L,4)", f"synthetic {path.name}, {n:,} x 200 bp", seconds))
    _, seconds = timed(ctcf.read_h5, path)
    rows.append(("read HDF5 again (cached)", f"synthetic {path.name}", seconds))
    if REAL_TEXT.exists():
        ctcf._read_text_cached.cache_clear()
        split, seconds = timed(ctcf.read_text, REAL_TEXT)
        rows.append(("read DeepBind text", f"real {REAL_TEXT.name}, {len(split):,} x 101 bp", seconds))
    rng = np.random.default_rng(0)
    seqs = rng.integers(0, 4, (2000, 200)).astype(np.int8)
    start = time.perf_counter()
    for s in seqs:
        shuffle_indices(s, rng)
    rows.append(("exact dinucleotide shuffle (reference)", "2,000 random 200 bp", time.perf_counter() - start))
    _, seconds = timed(markov_resample, seqs, rng)
    rows.append(("Markov resample (student build)", "2,000 random 200 bp", seconds))
    print("device: CPU (NumPy / h5py)")
    print(f"{'step':<40} {'data':<42} {'seconds':>8}")
    for step, data, s in rows:
        print(f"{step:<40} {data:<42} {s:>8.3f}")
    print("\ncomposition-only AUROC (gradient boosting on 16 dinucleotide counts; 0.5 = chance):")
    for label, shuffle in (("Markov resampling (synthetic data set)", None),
                           ("exact shuffles (hidden checks, format 1)", shuffle_indices)):
        print(f"  {label:<42} {composition_auroc(shuffle):.3f}")


def dinucleotide_counts(seqs: np.ndarray) -> np.ndarray:
    n = len(seqs)
    codes = np.arange(n)[:, None] * 16 + seqs[:, :-1].astype(np.int64) * 4 + seqs[:, 1:]
    return np.bincount(codes.ravel(), minlength=n * 16).reshape(n, 16)


def composition_auroc(shuffle) -> float:
    """Test AUROC of a classifier that sees only dinucleotide counts (16,000 train, 4,000 test sequences)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(1)
    (train_x, train_y, _), (test_x, test_y, _) = (CTCFGenerator().sample(n, rng, shuffle=shuffle)
                                                  for n in (16_000, 4_000))
    model = HistGradientBoostingClassifier(random_state=0).fit(dinucleotide_counts(train_x), train_y)
    return float(roc_auc_score(test_y, model.predict_proba(dinucleotide_counts(test_x))[:, 1]))


if __name__ == "__main__":
    main()
