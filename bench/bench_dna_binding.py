"""Test AUROC on the binding-site CSV: a 1-6-mer logistic baseline, a small CNN and LSTMSeq.

All three use the course split (80/20 train/test with a fixed seed, 10 % of train for
validation); the baseline is fitted in the same run. LSTMSeq is trained with the notebook's
recipe (init_lstm_, Adam 3e-3, gradient clipping at 1, ReduceLROnPlateau(patience 5, factor 0.5,
min_lr 1e-3),
best validation epoch kept).

    python bench/bench_dna_binding.py                  # real CSV in ../shared/data if present
    python bench/bench_dna_binding.py --synthetic      # the synthetic file
    python bench/bench_dna_binding.py --epochs 60 --hidden 64 --patience 5 --threads 1
"""
from __future__ import annotations

import argparse
import copy
import time
from pathlib import Path

import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from course_lib.baselines import as_indices, kmer_counts, kmer_logistic
from course_lib.data import dna_binding
from course_lib.datasets import load_dna_binding
from course_lib.models.recurrent import init_lstm_
from course_lib.reference.dna_unet import DNADataset, LSTMSeq, evaluate, train, validate
from course_lib.training import make_loader, pick_device, seed_everything

REAL_CSV = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "dna_binding" / "dna_binding.csv"


def kmer_baseline(splits) -> float:
    """L2-regularised logistic regression on 1-6-mer counts (C chosen on validation); test AUROC."""
    X = {name: kmer_counts(as_indices(df["seq"].tolist())) for name, df in splits.items()}
    y = {name: df["bind"].to_numpy() for name, df in splits.items()}
    _, _, scores = kmer_logistic(X, y)
    return float(roc_auc_score(y["test"], scores["test"]))


class SmallCNN(nn.Module):
    """Conv1d (32 filters of width 12) -> ReLU -> global max-pool -> dropout -> one probability."""

    def __init__(self, n_filters: int = 32, width: int = 12):
        super().__init__()
        self.conv = nn.Conv1d(4, n_filters, width)
        self.out = nn.Sequential(nn.Dropout(0.2), nn.Linear(n_filters, 1))

    def forward(self, x):
        h = torch.relu(self.conv(x.transpose(1, 2))).amax(dim=2)
        return torch.sigmoid(self.out(h))


def fit_best(model, loaders, epochs: int, lr: float, use_recipe: bool, patience: int = 5):
    """Train with the reference loops; keep the lowest-validation-loss epoch; (model, best epoch, seconds)."""
    device = pick_device()
    if use_recipe:
        init_lstm_(model)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=patience, min_lr=1e-3)
    best, best_state, best_epoch = None, None, -1
    start = time.perf_counter()
    for epoch in range(epochs):
        train(model, loaders["train"], opt)
        loss = validate(model, loaders["valid"])
        sched.step(loss)
        if best is None or loss < best:
            best, best_state, best_epoch = loss, copy.deepcopy(model.state_dict()), epoch
        pred, target = evaluate(model, loaders["test"])
        print(f"  {type(model).__name__} epoch {epoch + 1}: valid loss {loss:.4f}  "
              f"test AUROC {roc_auc_score(target, pred):.3f}  lr {opt.param_groups[0]['lr']:.1e}", flush=True)
    model.load_state_dict(best_state)
    return model, best_epoch, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic CSV even if the real one exists")
    ap.add_argument("--epochs", type=int, default=60, help="LSTM epochs (the CNN gets 15)")
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--patience", type=int, default=5, help="ReduceLROnPlateau patience of the LSTM")
    ap.add_argument("--only-lstm", action="store_true", help="skip the k-mer baseline and the CNN")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    splits = load_dna_binding(REAL_CSV if REAL_CSV.exists() and not args.synthetic else None, fast=False)
    label = f"{'synthetic' if splits.is_synthetic else 'real'} {dna_binding.csv_path(splits.path).name}"
    sizes = {k: len(v) for k, v in splits.items()}
    rows = []
    if not args.only_lstm:
        start = time.perf_counter()
        rows.append(("1-6-mer logistic regression", kmer_baseline(splits), "-", time.perf_counter() - start))
    datasets = {k: DNADataset(v["seq"], v["bind"]) for k, v in splits.items()}
    loaders = {"train": make_loader(datasets["train"], dna_binding.BATCH_SIZE, shuffle=True),
               "valid": make_loader(datasets["valid"], 512), "test": make_loader(datasets["test"], 512)}
    runs = [("small CNN (Adam 1e-3)", SmallCNN, 15, 1e-3, False),
            (f"LSTMSeq(hidden_dim={args.hidden}), notebook recipe", lambda: LSTMSeq(args.hidden), args.epochs, 3e-3, True)]
    for name, make, epochs, lr, recipe in runs[1:] if args.only_lstm else runs:
        seed_everything(0)
        model, best_epoch, seconds = fit_best(make(), loaders, epochs, lr, recipe, args.patience)
        pred, target = evaluate(model, loaders["test"])
        rows.append((name, roc_auc_score(target, pred), f"{best_epoch + 1}/{epochs}", seconds))
    print(f"\ndata: {label}, split {sizes} (seed {dna_binding.SPLIT_SEED}), batch {dna_binding.BATCH_SIZE}")
    print(f"device: {pick_device()} ({torch.get_num_threads()} torch thread(s))")
    print(f"{'model':<46} {'test AUROC':>10} {'kept epoch':>11} {'seconds':>8}")
    for name, auroc, kept, seconds in rows:
        print(f"{name:<46} {auroc:>10.3f} {kept:>11} {seconds:>8.0f}")
    print("known figure: 1-6-mer ridge baseline, test AUROC 0.805 (ASSIGNMENTS.md)")


if __name__ == "__main__":
    main()
