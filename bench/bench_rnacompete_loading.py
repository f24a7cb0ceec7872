"""How long it takes to get RBFOX1's train/valid/test splits out of norm_data.txt.

Compares, in one run on the same file:
  * the course's old loader: pandas.read_csv of the whole matrix once per split (3 parses);
  * course_lib: one parse of every probe and experiment, cached on disk, then memory-mapped reloads.
The file is a synthetic matrix in the real RNAcompete layout, full scale by default
(241,357 probes x 244 experiments, about the size of the real one); it is written once
under the data root (or --data-dir) and reused.

    python bench/bench_rnacompete_loading.py [--probes N] [--experiments E] [--data-dir DIR]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import config
from course_lib.data import rnacompete as rc
from course_lib.data import rnacompete_synthetic as rs
from course_lib.datasets import load_rnacompete


def old_course_loader(path: Path, experiment: str, split: str, seed: int = 0) -> tuple:
    """What the course did: parse the whole text matrix for every split, then pick one column."""
    table = pd.read_csv(path, sep="\t")
    set_a = table[table["Probe_Set"] == "SetA"]
    if split == "test":
        rows = table[table["Probe_Set"] == "SetB"]
    else:
        order = np.random.default_rng(seed).permutation(len(set_a))
        n_valid = int(round(0.2 * len(set_a)))
        rows = set_a.iloc[order[:n_valid] if split == "valid" else order[n_valid:]]
    return rows["RNA_Seq"].to_numpy(), rows[experiment].to_numpy()


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    full = rs.RNACompeteGenerator.full_scale()
    parser.add_argument("--probes", type=int, default=full.n_probes)
    parser.add_argument("--experiments", type=int, default=full.n_experiments)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args()

    gen = rs.RNACompeteGenerator(n_probes=args.probes, n_experiments=args.experiments)
    d = args.data_dir or config.data_root() / f"rnacompete_bench_{args.probes}x{args.experiments}"
    write_s, _ = timed(lambda: rs.write_synthetic(d, seed=0, generator=gen))
    path = d / rc.DATA_FILE
    size_mb = path.stat().st_size / 2**20

    old_s, _ = timed(lambda: [old_course_loader(path, "RNCMPT00168", s) for s in rc.SPLITS])

    shutil.rmtree(rc.cache_dir_for(path), ignore_errors=True)
    rc._load_matrix_cached.cache_clear()
    first_s, _ = timed(lambda: load_rnacompete(d, fast=False))
    rc._load_matrix_cached.cache_clear()   # a new process: only the on-disk cache remains
    reload_s, splits = timed(lambda: load_rnacompete(d, fast=False))
    other_s, _ = timed(lambda: load_rnacompete(d, protein="RNCMPT00001", fast=False))
    n = {s: len(v) for s, v in splits.items()}

    print(f"data: synthetic RNAcompete matrix {args.probes:,} probes x {args.experiments} experiments, "
          f"{size_mb:.0f} MB ({path}); written in {write_s:.1f} s (0 if it already existed)")
    print(f"splits: train {n['train']:,}, valid {n['valid']:,}, test {n['test']:,} (RBFOX1, RNCMPT00168)")
    print(f"device: CPU only ({platform.processor() or platform.machine()}, {os.cpu_count()} cores), "
          f"pandas {pd.__version__}\n")
    rows = [
        ("old course loader: read_csv once per split (3 parses)", old_s),
        ("course_lib first load: one parse + cache write", first_s),
        ("course_lib reload from cache (new process), 3 splits", reload_s),
        ("course_lib another protein, same process", other_s),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'what':<{width}}  {'seconds':>9}  {'old / this':>10}")
    for label, seconds in rows:
        print(f"{label:<{width}}  {seconds:>9.3f}  {old_s / seconds:>9.1f}x")


if __name__ == "__main__":
    main()
