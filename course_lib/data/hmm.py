"""Sequences sampled from the course's two-state DNA HMM (see course_lib.hmm), as TSV files.

On-disk layout (one folder, <data root>/hmm by default):
    train.tsv, valid.tsv, test.tsv   columns `dna` (ACGT) and `hidden_state` (H/L), one sequence per row
    synthetic.json                   the HMM's parameters, the seed, and the exact decoders'
                                     accuracies on every split (the ceilings any tagger can reach)

The files are written once, deterministically from a seed, and re-used; no sequence
appears in two splits. Fast mode (COURSE_FAST=1) reads only the first rows of each split.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from . import manifest
from .. import config
from ..encoding import DNA
from ..hmm import COURSE_HMM, SEQ_LEN, STATES, HMMParams, decoder_accuracies, read_tsv, sample, \
    strings_to_indices, write_tsv

SPLITS = ("train", "valid", "test")
SIZES = {"train": 4000, "valid": 500, "test": 1000}
FAST_ROWS = {"train": 300, "valid": 100, "test": 100}
MANIFEST = "synthetic.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class HMMSplit:
    """One split in memory: the strings as read, and the same as (N, L) int8 index arrays."""
    dna: list
    hidden_state: list
    bases: np.ndarray
    states: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.dna)

    def head(self, n: int) -> "HMMSplit":
        """The first `n` sequences."""
        return HMMSplit(self.dna[:n], self.hidden_state[:n], self.bases[:n], self.states[:n], self.source)


def default_dir() -> Path:
    """Where the HMM data lives: <data root>/hmm."""
    return config.data_root() / "hmm"


def split_path(data_dir, split: str) -> Path:
    """The TSV of `split` ('train', 'valid' or 'test') inside an HMM data folder."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return Path(data_dir) / f"{split}.tsv"


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


def read_manifest(data_dir) -> dict | None:
    """The manifest of an HMM folder (parameters and ceilings), or None if there is none."""
    return manifest.read(Path(data_dir) / MANIFEST)


def write_synthetic(data_dir, seed: int = 0, params: HMMParams = COURSE_HMM, sizes: dict | None = None,
                    length: int = SEQ_LEN, force: bool = False) -> dict:
    """Sample the three splits, write them as TSVs, and return the manifest.

    Cached: nothing is written if the folder holds data from the same parameters, sizes and seed.
    The splits are sampled together, so no DNA sequence appears in two of them.
    """
    d = Path(data_dir)
    sizes = dict(SIZES if sizes is None else sizes)
    settings = manifest.params_of(format_version=FORMAT_VERSION, seed=seed, length=length, sizes=sizes, hmm=params)
    old = manifest.current(d / MANIFEST, settings, *(split_path(d, s) for s in SPLITS))
    if old is not None and not force:
        return old
    total = sum(sizes[s] for s in SPLITS)
    bases, states = distinct_samples(total, length, params, np.random.default_rng(seed))
    ceilings, start = {}, 0
    for split in SPLITS:
        rows = slice(start, start + sizes[split])
        start += sizes[split]
        write_tsv(split_path(d, split), bases[rows], states[rows])
        ceilings[split] = decoder_accuracies(bases[rows], states[rows], params)
    return manifest.write(d / MANIFEST, settings, decoder_accuracy=ceilings,
                          note="HMM sequences; decoder_accuracy is the fraction of positions each exact decoder "
                               "(true parameters) gets right: 'posterior' is the ceiling of any tagger")


def ensure_data(data_dir=None, seed: int = 0) -> Path:
    """An HMM data folder ready to read: existing TSVs if all three are there, else written now."""
    d = Path(data_dir) if data_dir is not None else default_dir()
    if not all(split_path(d, s).exists() for s in SPLITS):
        write_synthetic(d, seed=seed)
    return d


@lru_cache(maxsize=8)
def _read_cached(path: str, mtime_ns: int) -> HMMSplit:
    dna, hidden = read_tsv(path)
    bases = strings_to_indices(dna, DNA, what=f"{path}: dna")
    states = strings_to_indices(hidden, STATES, what=f"{path}: hidden_state")
    return HMMSplit(dna, hidden, bases, states, path)


def read_split(path, fast: bool | None = None) -> HMMSplit:
    """One TSV as an HMMSplit (parsed once per process); fast mode keeps only its first rows."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such HMM sequence file (columns dna, hidden_state)")
    split = _read_cached(str(path.resolve()), path.stat().st_mtime_ns)
    if config.fast_mode() if fast is None else fast:
        name = path.stem if path.stem in FAST_ROWS else "valid"
        split = split.head(FAST_ROWS[name])
    return split


def load_splits(data_dir=None, fast: bool | None = None) -> dict[str, HMMSplit]:
    """All three splits of an HMM data folder (written first if missing)."""
    d = ensure_data(data_dir)
    return {s: read_split(split_path(d, s), fast=fast) for s in SPLITS}


class HMMDataset(Dataset):
    """Items (bases (L,) int64, states (L,) int64) from an HMMSplit or a TSV path.

    Bases are 0..3 for A, C, G, T and states 0/1 for H/L. Indexing with a list of rows
    returns a whole batch at once (see course_lib.training.make_loader).
    """

    def __init__(self, split, fast: bool | None = None):
        split = split if isinstance(split, HMMSplit) else read_split(split, fast=fast)
        self.split = split
        self.bases = torch.from_numpy(split.bases.astype(np.int64))
        self.states = torch.from_numpy(split.states.astype(np.int64))

    def __len__(self) -> int:
        return self.bases.shape[0]

    def __getitem__(self, i):
        return self.bases[i], self.states[i]
