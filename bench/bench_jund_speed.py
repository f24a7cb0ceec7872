"""Speed of weighted_accuracy: vectorized reference vs a plain-Python per-element loop, one run.

Usage: python bench/bench_jund_speed.py
"""
from __future__ import annotations

import platform
import time

import numpy as np
import torch

from course_lib.reference.jund import weighted_accuracy

N = 34_528  # the size of the JUND test split


def weighted_accuracy_loop(predicted_y, true_y, weight) -> float:
    """The per-element version students often write first."""
    correct = total = 0.0
    for p, t, w in zip(predicted_y, true_y, weight):
        total += float(w)
        if float(p) == float(t):
            correct += float(w)
    return correct / total


def best_of(fn, *args, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn(*args)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    rng = np.random.default_rng(0)
    pred, true = rng.integers(0, 2, N), rng.integers(0, 2, N)
    w = rng.random(N)
    assert np.isclose(weighted_accuracy(pred, true, w), weighted_accuracy_loop(pred, true, w))
    rows = []
    for label, args in [("NumPy arrays", (pred, true, w)),
                        ("torch tensors (N,1)", tuple(torch.tensor(v).reshape(-1, 1) for v in (pred, true, w)))]:
        fast = best_of(weighted_accuracy, *args)
        slow = best_of(weighted_accuracy_loop, *args, repeat=2)
        rows.append((label, fast, slow))
    print(f"weighted_accuracy on {N:,} items (random labels and weights), CPU: {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads; best of several runs")
    print(f"{'inputs':<22} {'vectorized (ms)':>16} {'Python loop (ms)':>17} {'speed-up':>9}")
    for label, fast, slow in rows:
        print(f"{label:<22} {fast * 1e3:>16.2f} {slow * 1e3:>17.1f} {slow / fast:>8.0f}x")


if __name__ == "__main__":
    main()
