"""Sequences sampled from the course's two-state DNA HMM (see course_lib.hmm), written as the
TSV files `course_lib.data.hmm` reads, with the exact decoders' accuracies as the ceilings.

The three splits are sampled together and deterministically from a seed, so no DNA sequence
appears in two of them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from . import manifest
from ..hmm import COURSE_HMM, SEQ_LEN, HMMParams, decoder_accuracies, sample, write_tsv
from .hmm import SPLITS, split_path

SIZES = {"train": 4000, "valid": 500, "test": 1000}
FORMAT_VERSION = 1


def distinct_samples(n: int, length: int, params: HMMParams, rng: np.random.Generator):
    """`n` sampled sequences whose DNA is pairwise distinct (duplicates are dropped and redrawn)."""
    bases, states = sample(n, length, params, rng)
    for _ in range(20):
        _, first = np.unique(bases, axis=0, return_index=True)
        keep = np.sort(first)
        if keep.size == n:
            return bases, states
        more_b, more_s = sample(n - keep.size, length, params, rng)
        bases = np.concatenate([bases[keep], more_b])
        states = np.concatenate([states[keep], more_s])
    raise ValueError(f"could not draw {n} distinct sequences of length {length}: too short")


def write_synthetic(data_dir, seed: int = 0, params: HMMParams = COURSE_HMM, sizes: dict | None = None,
                    length: int = SEQ_LEN, force: bool = False) -> dict:
    """Sample the three splits, write them as TSVs, and return the manifest.

    Cached: nothing is written if the folder holds data from the same parameters, sizes and seed.
    A folder holding files course_lib did not write is refused (manifest.ForeignFilesError).
    """
    sizes = dict(SIZES if sizes is None else sizes)
    settings = manifest.params_of(format_version=FORMAT_VERSION, seed=seed, length=length, sizes=sizes, hmm=params)
    return manifest.write_once(data_dir, settings, lambda d: _write_splits(d, seed, params, sizes, length), force)


def _write_splits(d: Path, seed: int, params: HMMParams, sizes: dict, length: int) -> dict:
    total = sum(sizes[s] for s in SPLITS)
    bases, states = distinct_samples(total, length, params, np.random.default_rng(seed))
    ceilings, start = {}, 0
    for split in SPLITS:
        rows = slice(start, start + sizes[split])
        start += sizes[split]
        write_tsv(split_path(d, split), bases[rows], states[rows])
        ceilings[split] = decoder_accuracies(bases[rows], states[rows], params)
    return {"decoder_accuracy": ceilings,
            "note": "HMM sequences; decoder_accuracy is the fraction of positions each exact decoder "
                    "(true parameters) gets right: 'posterior' is the ceiling of any tagger"}
