"""Training on every window vs on all bound windows and a fresh 5 % of the unbound ones each epoch.

The JUND notebook's models (reference MLP, CNN, LSTM) on the synthetic JUND data at real sizes,
each trained the same number of epochs (Adam, lr 1e-3 unless --lr, batch 256, the epoch with the best validation
weighted accuracy kept) once on all 276,216 training windows and once with
`course_lib.data.jund.SubsampledNegatives(keep=0.05)`. Prints the seconds of training (validation
passes included), and the kept epoch's validation and test weighted accuracy and AUROC.

Usage: python bench/bench_jund_subsample.py [--threads 2] [--epochs 10] [--models MLP CNN LSTMClassifier]
                                            [--keep 1 0.05] [--lr 1e-3]
"""
from __future__ import annotations

import argparse
import os
import platform
import time

import torch

from course_lib.data import jund
from course_lib.datasets import load_jund
from course_lib.evaluation import binary_report
from course_lib.reference import jund as ref
from course_lib.training import fit, make_loader, predict

SIZES = {"MLP": 128, "CNN": 64, "LSTMClassifier": 64}


def _metric(logits, y, w):
    return ref.weighted_accuracy((logits > 0).float(), y, w)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--models", nargs="+", default=list(SIZES))
    parser.add_argument("--keep", nargs="+", type=float, default=[1.0, 0.05])
    parser.add_argument("--lr", type=float, default=1e-3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    splits = load_jund(fast=False)
    data = {k: jund.JUNDDataset(v) for k, v in splits.items()}
    valid, test = make_loader(data["valid"], 1024), make_loader(data["test"], 1024)
    print(f"synthetic JUND ({splits.path}): train {len(data['train']):,} ({splits['train'].n_positives} bound), "
          f"valid {len(data['valid']):,}, test {len(data['test']):,}; CPU {platform.processor() or platform.machine()}, "
          f"{args.threads} torch threads, load average at start {os.getloadavg()[0]:.1f}", flush=True)
    print(f"learning rate {args.lr:g}")
    print(f"{'model':<15} {'hidden':>6} {'keep':>5} {'epochs':>6} {'train s':>8} {'best ep':>7} "
          f"{'valid wacc':>10} {'valid AUROC':>11} {'test wacc':>9} {'test AUROC':>10}", flush=True)
    for name in args.models:
        for keep in args.keep:
            loader = (make_loader(data["train"], 256, shuffle=True) if keep >= 1
                      else jund.SubsampledNegatives(data["train"], 256, keep=keep))
            model = getattr(ref, name)(hidden_size=SIZES[name])
            t = time.perf_counter()
            hist = fit(model, loader, valid, loss_fn=ref.weighted_bce_loss, metric_fn=_metric, epochs=args.epochs, lr=args.lr,
                       inputs=(0, 3), targets=(1, 2), device="cpu", progress=False)
            seconds = time.perf_counter() - t
            got = {}
            for split, ld in (("valid", valid), ("test", test)):
                logits, (y, w) = predict(model, ld, inputs=(0, 3), targets=(1, 2), device="cpu")
                got[split] = binary_report(logits, y, w)
            print(f"{name:<15} {SIZES[name]:>6} {keep:>5g} {args.epochs:>6} {seconds:>8.0f} {hist.best_epoch + 1:>7} "
                  f"{got['valid']['weighted_accuracy']:>10.3f} {got['valid']['auroc']:>11.3f} "
                  f"{got['test']['weighted_accuracy']:>9.3f} {got['test']['auroc']:>10.3f}   "
                  f"(load {os.getloadavg()[0]:.1f})", flush=True)
    ceiling = splits.synthetic["bayes_optimal"]
    print(f"Bayes-optimal: valid wacc {ceiling['valid']['weighted_accuracy']:.3f} AUROC {ceiling['valid']['auroc']:.3f}; "
          f"test wacc {ceiling['test']['weighted_accuracy']:.3f} AUROC {ceiling['test']['auroc']:.3f}")


if __name__ == "__main__":
    main()
