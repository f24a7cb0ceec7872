"""Test AUROC of the reference CTCFNet and CTCFNetRegularized on synthetic and real CTCF data, and where
their saliency points: the share of top grad×input positions that fall on the planted CTCF site.

Data: the synthetic HDF5 file (Koo's layout, 200 bp, planted MA0139.1 sites, dinucleotide-shuffled
negatives) and, when present, the real ENCODE copy `../shared/data/ctcf_encode/ctcf_ENCSR000AQU.txt`
(101 bp), split 80/10/10 with seed 0. Training: Adam lr 1e-3, batch 64, BCE on logits, early stopping
on the validation loss (patience 5, best weights restored), at most --epochs epochs.

    python bench/bench_ctcf_models.py [--epochs E] [--threads T] [--skip-real]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from course_lib.data import ctcf
from course_lib.datasets import load_ctcf
from course_lib.evaluation import binary_report
from course_lib.motifs import load_motif
from course_lib.reference import ctcf_saliency as ref
from course_lib.saliency import site_overlap
from course_lib.training import fit, make_loader, pick_device, predict

REAL_TEXT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "ctcf_encode" / "ctcf_ENCSR000AQU.txt"
PUBLISHED = ("published CTCFNet-style CNN (Koo & Eddy)", "real CTCF_200.h5 (Koo)", 0.98)


def bce(logits, y):
    return F.binary_cross_entropy_with_logits(logits, y)


def train_and_test(cls, splits, epochs: int, device):
    """(trained model, test report, epochs run, seconds) for a fresh `cls(seq_len=L)`."""
    loaders = {name: make_loader(ctcf.CTCFDataset(s), 64 if name == "train" else 1024, shuffle=name == "train")
               for name, s in splits.items()}
    model = cls(seq_len=splits["train"].seq_len)
    start = time.perf_counter()
    history = fit(model, loaders["train"], loaders["valid"], loss_fn=bce, epochs=epochs, lr=1e-3, patience=5,
                  device=device, progress=False)
    seconds = time.perf_counter() - start
    logits, (y,) = predict(model, loaders["test"], device=device)
    return model, binary_report(logits, y), logits.numpy().ravel(), len(history.train_loss), seconds


def saliency_overlap(model, split, logits, device, motif_len: int, limit: int = 1000) -> dict:
    """site_overlap of grad×input over correctly classified positives that carry a planted site."""
    rows = np.flatnonzero((split.y[:, 0] == 1) & (logits > 0) & (split.motif_pos >= 0))[:limit]
    X = torch.from_numpy(split.X[rows].astype(np.float32))
    attr = (ref.saliency_map(model, X.to(device)).cpu() * X).numpy()
    return site_overlap(attr, split.motif_pos[rows], motif_len=motif_len)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--skip-real", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = pick_device()
    torch.manual_seed(0)

    datasets = {"synthetic CTCF_200.h5": load_ctcf(fast=False)}
    if REAL_TEXT.exists() and not args.skip_real:
        datasets["real ENCODE ENCSR000AQU"] = load_ctcf(REAL_TEXT, fast=False, seed=0)
    attributes = datasets["synthetic CTCF_200.h5"].synthetic
    motif_len = len(load_motif("MA0139.1"))

    auroc_rows, overlap_rows = [], []
    for data_name, splits in datasets.items():
        for cls in (ref.CTCFNet, ref.CTCFNetRegularized):
            model, report, logits, epochs_run, seconds = train_and_test(cls, splits, args.epochs, device)
            auroc_rows.append((cls.__name__, data_name, report["auroc"], report["f1"], epochs_run, seconds))
            if splits["test"].motif_pos is not None:
                overlap_rows.append((cls.__name__, data_name,
                                     saliency_overlap(model, splits["test"], logits, device, motif_len)))
        if data_name.startswith("synthetic") and attributes:
            auroc_rows.append(("scan with the true PWM (ceiling-like)", data_name,
                               attributes["pwm_scan_auroc"]["test"], None, None, None))
    auroc_rows.append((PUBLISHED[0], PUBLISHED[1], PUBLISHED[2], None, None, None))

    name = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    print(f"device: {device} ({name}), torch {torch.__version__}, threads {torch.get_num_threads()}")
    for data_name, splits in datasets.items():
        sizes = ", ".join(f"{k} {len(v):,}" for k, v in splits.items())
        print(f"data: {data_name} — {sizes} sequences of {splits['train'].seq_len} bp")
    print(f"training: Adam lr 1e-3, batch 64, early stopping on validation loss (patience 5), "
          f"at most {args.epochs} epochs\n")

    def fmt(x, spec=".3f"):
        return "—" if x is None else format(x, spec)
    print(f"{'model':<40} {'data':<26} {'test AUROC':>10} {'test F1':>8} {'epochs':>6} {'train s':>8}")
    for model, data, auroc, f1, ep, s in auroc_rows:
        print(f"{model:<40} {data:<26} {fmt(auroc):>10} {fmt(f1):>8} {fmt(ep, 'd'):>6} {fmt(s, '.0f'):>8}")

    print("\nsaliency (grad×input) of correctly classified test positives vs the planted site "
          f"({motif_len} bp of 200):")
    print(f"{'model':<22} {'data':<26} {'n':>5} {'top-1 in site':>13} {'top-19 in site':>14} {'chance':>7}")
    for model, data, o in overlap_rows:
        print(f"{model:<22} {data:<26} {o['n']:>5} {o['top1_hit_rate']:>13.3f} {o['topk_overlap']:>14.3f} "
              f"{o['chance']:>7.3f}")


if __name__ == "__main__":
    main()
