"""GRU taggers against the exact HMM decoders, on the same held-out test sequences.

    python bench/bench_hmm_gru.py [--epochs 3] [--hidden 16] [--threads 1]

Trains the reference GRUTagger (left-to-right and bidirectional) on the training split of
the course's HMM data (course_lib.data.hmm: 4,000 / 500 / 1,000 sequences of 500 bp, unless
COURSE_FAST=1), keeps the best epoch on the validation split, and reports positional accuracy
on the test split next to the per-base, forward-only, Viterbi and posterior decoders run with
the true parameters. The posterior decoder is the ceiling of any tagger; the forward-only
decoder is the ceiling of any left-to-right (causal) tagger.
"""
from __future__ import annotations

import argparse
import time

import torch

from course_lib import config, hmm
from course_lib.data import hmm as hmm_data
from course_lib.datasets import load_hmm
from course_lib.reference import hmm_gru as ref
from course_lib.training import make_loader, pick_device, predict


def timed(fn, *args, **kwargs):
    """(result, wall seconds, CPU seconds of this process)."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - wall, time.process_time() - cpu


def gru_accuracy(bidirectional: bool, splits: dict, epochs: int, hidden: int):
    """Train one reference tagger; (test accuracy, best epoch, wall s, CPU s)."""
    torch.manual_seed(0)
    model = ref.GRUTagger(4, hidden, 2, bidirectional=bidirectional)
    datasets = {name: hmm_data.HMMDataset(split) for name, split in splits.items()}
    history, wall, cpu = timed(ref.train_tagger, model, datasets["train"], datasets["valid"], epochs,
                               progress=False)
    log_probs, (states,) = predict(model, make_loader(datasets["test"], 256))
    return ref.positional_accuracy(log_probs, states), history.best_epoch + 1, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hidden", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch CPU threads (a GRU of 16 units gains nothing from more; 1 also avoids "
                             "oversubscribing a shared machine)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    splits = load_hmm()
    test = splits["test"]
    ceilings, wall, _ = timed(hmm.decoder_accuracies, test.bases, test.states)
    rows = [(f"exact: {name}", acc, f"{wall:.1f} s for all four") for name, acc in ceilings.items()]
    for bidirectional in (False, True):
        acc, best, wall, cpu = gru_accuracy(bidirectional, splits, args.epochs, args.hidden)
        name = f"GRUTagger hidden {args.hidden}, {'bidirectional' if bidirectional else 'left-to-right'}"
        rows.append((name, acc, f"train {wall:.0f} s wall, {cpu:.0f} s CPU; best epoch {best}/{args.epochs}"))

    device = pick_device()
    print(f"data: {splits.path} ({', '.join(f'{k} {len(v):,}' for k, v in splits.items())} sequences of "
          f"{test.bases.shape[1]} bp{'; FAST MODE' if config.fast_mode() else ''})")
    print(f"device: {device}" + (f", {torch.get_num_threads()} torch threads" if device.type == "cpu" else ""))
    print(f"{'method':<44} {'test accuracy':>13} {'vs posterior':>12}  time")
    for name, acc, note in rows:
        print(f"{name:<44} {acc:>13.4f} {acc - ceilings['posterior']:>+12.4f}  {note}")
    gap = ceilings["posterior"] - rows[-1][1]
    print(f"bidirectional GRU within 0.01 of the posterior ceiling: {'yes' if gap <= 0.01 else 'NO'} "
          f"(gap {gap:.4f})")


if __name__ == "__main__":
    main()
