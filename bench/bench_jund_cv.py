"""Cross-validated comparison of two JUND CNN recipes on the real valid_dataset (the test part untouched).

    python bench/bench_jund_cv.py [--folds 4] [--seeds 3] [--epochs 20] [--threads 1] [--data-dir DIR]

With 29 bound test windows, `bench_real_data.py`'s JUND test AUROC is uncertain by about +-0.1, too
coarse to tell two recipes apart. This script uses the same fixed split but only its train and
valid parts (27,622 windows, 117 bound), cut into stratified folds: every bound window is scored
once by a network that never saw it. For each recipe, seed and fold it trains a fixed number of
epochs (no early choice on the held-out fold) and records the fold's AUROC after every epoch.

Printed per recipe: the mean fold AUROC over the last 5 epochs, per seed and averaged; the change
against the first recipe, seed by seed (the same folds and seeds, so the pairs are comparable); and
the mean of the seeds' last-epoch logits (a small ensemble) with its pooled AUROC and weighted
accuracy. A logistic regression on 1-6-mer and gapped 3+3-mer counts on the same folds is the
baseline without deep learning; the last line adds its standardised scores to those of the last
recipe's seeds (a CNN and a k-mer model make different mistakes).
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from course_lib.baselines import as_indices, gapped_kmer_counts, kmer_counts  # noqa: E402
from course_lib.data import jund  # noqa: E402
from course_lib.recipes import stratified_split  # noqa: E402
from course_lib.reference import jund as jund_ref  # noqa: E402
from course_lib.training import fit, make_loader, pick_device, predict  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"
LR = jund_ref.SMALL_DATA_LR
WD = jund_ref.SMALL_DATA_WEIGHT_DECAY
RECIPES = {   # name: model factory, all trained with AdamW (lr 3e-3, weight decay 1e-2)
    f"global max-pool, 4 filters seeded with {jund_ref.JUND_MOTIF_ID}":
        jund_ref.previous_small_data_cnn,
    f"pool {jund_ref.SMALL_DATA_POOL} (3 bins), 4 + 4 seeded with {' + '.join(jund_ref.JUND_MOTIF_IDS)}":
        jund_ref.small_data_cnn,
}


def standardised_per_fold(scores, folds):
    """Each held-out fold's scores minus their mean, over their SD: folds' networks differ in scale."""
    out = np.empty_like(scores)
    for _, held in folds:
        out[held] = (scores[held] - scores[held].mean()) / (scores[held].std() + 1e-12)
    return out


def auroc(logits, y, w):
    return roc_auc_score(y.reshape(-1).cpu().numpy(), logits.reshape(-1).cpu().numpy())


def cross_validate(make, data, folds, seed, epochs, device, weight_decay=WD):
    """(epochs, folds) fold AUROCs and the out-of-fold logits of the last epoch."""
    scores, oof = np.zeros((epochs, len(folds))), np.zeros(len(data))
    for f, (fit_rows, held_rows) in enumerate(folds):
        torch.manual_seed(seed * 100 + f)
        model = make()
        held = make_loader(jund.JUNDDataset(data.subset(held_rows)), 2048)

        def keep_last_logits(epoch, trained, _history, rows=held_rows, loader=held):
            if epoch == epochs - 1:
                oof[rows] = predict(trained, loader, (0, 3), (1, 2), device)[0].reshape(-1).cpu().numpy()

        hist = fit(model, make_loader(jund.JUNDDataset(data.subset(fit_rows)), 256, shuffle=True), held,
                   loss_fn=jund_ref.weighted_bce_loss, metric_fn=auroc, epochs=epochs, inputs=(0, 3), targets=(1, 2),
                   optimizer=torch.optim.AdamW(model.parameters(), lr=LR, weight_decay=weight_decay),
                   device=device, seed=seed * 100 + f, progress=False, on_epoch=keep_last_logits)
        scores[:, f] = hist.valid_metric
    return scores, oof


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    path = args.data_dir / "jund" / "valid_dataset"
    if not path.is_dir():
        sys.exit(f"{path} is absent: this benchmark needs the real JUND valid_dataset")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jund.MissingAccessibilityWarning)
        full = jund.read_split(path, fast=False)
    parts = stratified_split(full.y, (0.6, 0.2, 0.2), seed=0)            # bench_real_data's split
    data = full.subset(np.concatenate([parts["train"], parts["valid"]]))  # its test part is never read
    y, w = data.y.reshape(-1), data.w.reshape(-1)
    folds = list(StratifiedKFold(args.folds, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    device = pick_device()
    print(f"data: {path}, train+valid part of the 60/20/20 split: {len(data):,} windows, {int(y.sum())} bound; "
          f"{args.folds} stratified folds (seed 0)")
    print(f"device: {device}, torch {torch.__version__}, {args.threads} thread(s); AdamW lr {LR:g}, weight decay {WD:g}, batch 256, "
          f"{args.epochs} epochs, all windows, weighted BCE\n")

    def pooled(s):
        return roc_auc_score(y, s), jund_ref.weighted_accuracy(torch.as_tensor(s > 0).float(), torch.as_tensor(y),
                                                               torch.as_tensor(w))

    per_seed = {}
    print(f"{'recipe':56s} {'CV AUROC, last 5 epochs, per seed':>34s} {'mean':>6s} {'mean of seeds AUROC / W-acc':>28s} {'s':>6s}")
    for name, make in RECIPES.items():
        t = time.perf_counter()
        runs = [cross_validate(make, data, folds, seed, args.epochs, device) for seed in range(args.seeds)]
        per_seed[name] = np.array([scores[-5:].mean() for scores, _ in runs])
        ens_auc, ens_wacc = pooled(np.mean([oof for _, oof in runs], 0))
        last_mean = np.mean([standardised_per_fold(oof, folds) for _, oof in runs], 0)
        print(f"{name:56s} {' '.join(f'{v:.3f}' for v in per_seed[name]):>34s} {per_seed[name].mean():6.3f} "
              f"{ens_auc:>18.3f} / {float(ens_wacc):.3f} {time.perf_counter() - t:6.0f}", flush=True)
    first = next(iter(per_seed))
    for name, values in list(per_seed.items())[1:]:
        print(f"change against the first recipe, seed by seed: {' '.join(f'{d:+.3f}' for d in values - per_seed[first])}"
              f" ({name.strip()})")
    idx = as_indices(data.X)
    Xk = sparse.hstack([kmer_counts(idx, 6, both_strands=True), gapped_kmer_counts(idx, 3, (0, 1, 2, 3))]).tocsr()
    kmer_oof = np.zeros(len(y))
    for fit_rows, held_rows in folds:
        lr = LogisticRegression(C=1e-4, max_iter=5000, class_weight="balanced").fit(Xk[fit_rows], y[fit_rows])
        kmer_oof[held_rows] = lr.decision_function(Xk[held_rows])

    def fold_mean(s):
        return np.mean([roc_auc_score(y[held], s[held]) for _, held in folds])
    print(f"1-6-mers + gapped 3+3-mers (gaps 0-3), both strands, logistic regression (C=1e-4, balanced): "
          f"CV AUROC {fold_mean(kmer_oof):.3f}")
    both = last_mean + standardised_per_fold(kmer_oof, folds)
    print(f"the last recipe's mean of {args.seeds} seed(s) (last epoch) alone: CV AUROC {fold_mean(last_mean):.3f}; "
          f"+ the k-mer regression, each standardised per fold and added: {fold_mean(both):.3f}")


if __name__ == "__main__":
    main()
