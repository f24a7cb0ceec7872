"""Speed of the CTCF data path: reading the HDF5 and text formats, and the dinucleotide shuffle.

    python bench/bench_ctcf_data.py
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from course_lib.data import ctcf
from course_lib.datasets import SOURCES
from course_lib.motifs import dinucleotide_shuffle

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
        dinucleotide_shuffle(s, rng)
    seconds = time.perf_counter() - start
    rows.append(("dinucleotide shuffle, 2,000 sequences", "random 200 bp", seconds))
    print("device: CPU (NumPy / h5py)")
    print(f"{'step':<40} {'data':<42} {'seconds':>8}")
    for step, data, s in rows:
        print(f"{step:<40} {data:<42} {s:>8.3f}")


if __name__ == "__main__":
    main()
