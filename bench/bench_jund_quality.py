"""Quality of the JUND reference models.

1. MLP, CNN and LSTM on the synthetic JUND data (real sizes), next to the Bayes-optimal ceiling.
2. The CNN on the real valid split in ../shared/data (no accessibility there), re-split 60/20/20
   with a fixed seed, next to the course's numbers (real data, with accessibility).

Usage: python bench/bench_jund_quality.py [--epochs N] [--lstm-epochs N] [--skip-real]
"""
from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from course_lib.data import jund
from course_lib.datasets import load_jund
from course_lib.evaluation import binary_report
from course_lib.reference.jund import CNN, LSTMClassifier, MLP, weighted_accuracy, weighted_bce_loss
from course_lib.training import fit, make_loader, pick_device, predict

REAL_VALID = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "jund" / "valid_dataset"
COURSE = {"MLP": 0.640, "CNN": 0.635}


def _metric(logits, y, w):
    return weighted_accuracy((logits > 0).float(), y, w)


def train_and_test(model, splits: dict, epochs: int, device, lr: float = 1e-3):
    loaders = {k: make_loader(jund.JUNDDataset(v), 256 if k == "train" else 2048, shuffle=k == "train")
               for k, v in splits.items()}
    t = time.perf_counter()
    hist = fit(model, loaders["train"], loaders["valid"], loss_fn=weighted_bce_loss, metric_fn=_metric,
               epochs=epochs, lr=lr, inputs=(0, 3), targets=(1, 2), device=device, progress=False)
    seconds = time.perf_counter() - t
    logits, (y, w) = predict(model, loaders["test"], inputs=(0, 3), targets=(1, 2), device=device)
    return binary_report(logits, y, w), hist, seconds


def synthetic_table(epochs: int, lstm_epochs: int, device) -> None:
    splits = load_jund(fast=False)
    data_dir = splits.path
    ceiling = splits.synthetic["bayes_optimal"]["test"]
    print(f"\n[1] synthetic JUND ({data_dir}; train {len(splits['train']):,} / valid {len(splits['valid']):,} / "
          f"test {len(splits['test']):,}), device {device}")
    print(f"{'model':<16} {'epochs':>6} {'best ep':>7} {'test wacc':>9} {'test AUROC':>10} {'wacc/ceiling':>12} {'train s':>8}")
    for name, cls, ep in [("MLP", MLP, epochs), ("CNN", CNN, epochs), ("LSTMClassifier", LSTMClassifier, lstm_epochs)]:
        torch.manual_seed(0)
        r, hist, sec = train_and_test(cls(), splits, ep, device)
        print(f"{name:<16} {ep:>6} {hist.best_epoch + 1:>7} {r['weighted_accuracy']:>9.3f} {r['auroc']:>10.3f} "
              f"{r['weighted_accuracy'] / ceiling['weighted_accuracy']:>12.3f} {sec:>8.0f}")
    print(f"{'Bayes-optimal':<16} {'':>6} {'':>7} {ceiling['weighted_accuracy']:>9.3f} {ceiling['auroc']:>10.3f} {1:>12.3f}")


def real_table(epochs: int, device) -> None:
    if not REAL_VALID.exists():
        print(f"\n[2] skipped: real data not available ({REAL_VALID} is absent)")
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jund.MissingAccessibilityWarning)
        full = jund.read_split(REAL_VALID, fast=False)
    rng = np.random.default_rng(0)
    order = rng.permutation(len(full))
    cut = [int(0.6 * len(full)), int(0.8 * len(full))]
    parts = dict(zip(("train", "valid", "test"), np.split(order, cut)))
    splits = {k: full.subset(np.sort(v)) for k, v in parts.items()}
    print(f"\n[2] real JUND valid split re-split 60/20/20 (seed 0): train {len(splits['train']):,} "
          f"({splits['train'].n_positives} bound) / valid {len(splits['valid']):,} / test {len(splits['test']):,} "
          f"({splits['test'].n_positives} bound); no accessibility in this copy; device {device}")
    print(f"{'model':<10} {'epochs':>6} {'test wacc':>9} {'test AUROC':>10}   course (full real data, with accessibility)")
    torch.manual_seed(0)
    r, hist, _ = train_and_test(CNN(), splits, epochs, device)
    print(f"{'CNN':<10} {epochs:>6} {r['weighted_accuracy']:>9.3f} {r['auroc']:>10.3f}   "
          f"MLP wacc {COURSE['MLP']:.3f}, CNN wacc {COURSE['CNN']:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--lstm-epochs", type=int, default=3)
    parser.add_argument("--real-epochs", type=int, default=15)
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--skip-synthetic", action="store_true")
    args = parser.parse_args()
    device = pick_device()
    if not args.skip_synthetic:
        synthetic_table(args.epochs, args.lstm_epochs, device)
    if not args.skip_real:
        real_table(args.real_epochs, device)


if __name__ == "__main__":
    main()
