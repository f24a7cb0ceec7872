"""Does training again on training + validation help the JUND recipe? Nested cross-validation on the real data.

    python bench/bench_jund_refit.py [--seeds 3] [--epochs 20] [--threads 1] [--data-dir DIR]

The same folds as `bench_jund_cv.py` (4 stratified folds of the train and valid parts of
bench_real_data's split, 117 bound windows; its test part is never read). Inside each fold's training
rows the notebook's protocol is repeated: 75 % to fit and 25 % to choose on ("select"), then either
that model is kept, or the recipe is trained again on all the fold's training rows ("refit"). Every
network's logits on the held-out fold are kept after every epoch, so each way of choosing the epoch is
scored on the same networks. Printed: per seed the mean fold AUROC, and for the mean of the seeds'
logits the mean fold AUROC and the pooled weighted accuracy at logit 0.
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from course_lib.data import jund  # noqa: E402
from course_lib.recipes import stratified_split  # noqa: E402
from course_lib.reference import jund as jund_ref  # noqa: E402
from course_lib.training import fit, make_loader, pick_device, predict  # noqa: E402

DEFAULT_DATA = REPO.parent / "shared" / "data"


def weighted_accuracy_at_zero(logits, y, w) -> float:
    return float(jund_ref.weighted_accuracy(torch.as_tensor(logits > 0).float(), torch.as_tensor(y), torch.as_tensor(w)))


def logits_per_epoch(data, fit_rows, score_rows, seed, epochs, device):
    """(len(score_rows), epochs) lists: the recipe trained on `fit_rows`, its logits after each epoch."""
    torch.manual_seed(seed)
    model = jund_ref.small_data_cnn()
    loaders = [make_loader(jund.JUNDDataset(data.subset(rows)), 2048) for rows in score_rows]
    out = [np.zeros((epochs, len(rows))) for rows in score_rows]

    def keep(epoch, trained, _history):
        for o, loader in zip(out, loaders):
            o[epoch] = predict(trained, loader, (0, 3), (1, 2), device)[0].reshape(-1).cpu().numpy()

    fit(model, make_loader(jund.JUNDDataset(data.subset(fit_rows)), 256, shuffle=True), None,
        loss_fn=jund_ref.weighted_bce_loss, epochs=epochs, inputs=(0, 3), targets=(1, 2),
        optimizer=torch.optim.AdamW(model.parameters(), lr=jund_ref.SMALL_DATA_LR,
                                    weight_decay=jund_ref.SMALL_DATA_WEIGHT_DECAY),
        device=device, seed=seed, progress=False, on_epoch=keep)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
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
    folds = list(StratifiedKFold(4, shuffle=True, random_state=0).split(np.zeros(len(y)), y))
    device = pick_device()
    print(f"data: {path}, train+valid part of the 60/20/20 split: {len(data):,} windows, {int(y.sum())} bound; "
          f"4 stratified folds (seed 0), each fold's training rows cut 75/25 into fit and select")
    print(f"device: {device}, torch {torch.__version__}, {args.threads} thread(s); the recipe (small_data_cnn), "
          f"AdamW lr {jund_ref.SMALL_DATA_LR:g}, weight decay {jund_ref.SMALL_DATA_WEIGHT_DECAY:g}, batch 256, "
          f"{args.epochs} epochs, weighted BCE\n", flush=True)
    held = {}   # (rule, seed, fold) -> held-out logits
    t = time.perf_counter()
    for seed in range(args.seeds):
        for f, (train_rows, held_rows) in enumerate(folds):
            inner = stratified_split(y[train_rows], (0.75, 0.25), seed=seed, names=("fit", "select"))
            select_rows = train_rows[inner["select"]]
            on_held, on_select = logits_per_epoch(data, train_rows[inner["fit"]], [held_rows, select_rows],
                                                  seed * 100 + f, args.epochs, device)
            (refit,) = logits_per_epoch(data, train_rows, [held_rows], seed * 100 + f, args.epochs, device)
            ys, ws = y[select_rows], w[select_rows]
            by_wacc = int(np.argmax([weighted_accuracy_at_zero(s, ys, ws) for s in on_select]))
            by_auroc = int(np.argmax([roc_auc_score(ys, s) for s in on_select]))
            held.update({
                ("fit on 75 %, epoch chosen on select W-acc (the notebook)", seed, f): on_held[by_wacc],
                ("fit on 75 %, epoch chosen on select AUROC", seed, f): on_held[by_auroc],
                ("fit on 75 %, last epoch", seed, f): on_held[-1],
                ("refit on 100 % for the W-acc-chosen epochs", seed, f): refit[by_wacc],
                ("refit on 100 % for the AUROC-chosen epochs", seed, f): refit[by_auroc],
                ("refit on 100 %, all epochs", seed, f): refit[-1],
            })
            print(f"seed {seed} fold {f}: epochs chosen by W-acc {by_wacc + 1}, by AUROC {by_auroc + 1}; "
                  f"{time.perf_counter() - t:.0f} s", flush=True)
    rules = list(dict.fromkeys(rule for rule, _, _ in held))
    print(f"\n{'rule':46s} {'mean fold AUROC per seed':>26s} {'mean':>6s} {'mean of seeds: AUROC / W-acc':>30s}")
    for rule in rules:
        per_seed = [np.mean([roc_auc_score(y[h], held[rule, s, f]) for f, (_, h) in enumerate(folds)])
                    for s in range(args.seeds)]
        mean_of_seeds = np.zeros(len(y))
        for f, (_, h) in enumerate(folds):
            mean_of_seeds[h] = np.mean([held[rule, s, f] for s in range(args.seeds)], 0)
        fold_auroc = np.mean([roc_auc_score(y[h], mean_of_seeds[h]) for _, h in folds])
        print(f"{rule:46s} {' '.join(f'{v:.3f}' for v in per_seed):>26s} {np.mean(per_seed):6.3f} "
              f"{fold_auroc:>20.3f} / {weighted_accuracy_at_zero(mean_of_seeds, y, w):.3f}")


if __name__ == "__main__":
    main()
