"""Sequences of the course's two-state DNA HMM as TSV files: reader and the students' Dataset.

On-disk layout (one folder, <data root>/hmm by default):
    train.tsv, valid.tsv, test.tsv   columns `dna` (ACGT) and `hidden_state` (H/L), one sequence per row

There is no real copy of these data: `course_lib.data.hmm_synthetic` samples them from the HMM
(with the exact decoders' accuracies, the ceilings, in `synthetic.json`). Fast mode
(COURSE_FAST=1) reads only the first rows of each split.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import config
from ..encoding import DNA
from ..hmm import STATES, read_tsv, strings_to_indices
from .parsed import parse_once

SPLITS = ("train", "valid", "test")
FAST_ROWS = {"train": 300, "valid": 100, "test": 100}
LAYOUTS = (tuple(f"{s}.tsv" for s in SPLITS),)


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


def split_path(data_dir, split: str) -> Path:
    """The TSV of `split` ('train', 'valid' or 'test') inside an HMM data folder."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return Path(data_dir) / f"{split}.tsv"


@parse_once
def _read_cached(path: Path) -> HMMSplit:
    dna, hidden = read_tsv(path)
    bases = strings_to_indices(dna, DNA, what=f"{path}: dna")
    states = strings_to_indices(hidden, STATES, what=f"{path}: hidden_state")
    return HMMSplit(tuple(dna), tuple(hidden), bases, states, str(path))


def read_split(path, fast: bool | None = None) -> HMMSplit:
    """One TSV as an HMMSplit (parsed once per process: strings in tuples, arrays read-only);
    fast mode keeps only its first rows."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such HMM sequence file (columns dna, hidden_state)")
    split = _read_cached(path)
    if config.fast_mode() if fast is None else fast:
        name = path.stem if path.stem in FAST_ROWS else "valid"
        split = split.head(FAST_ROWS[name])
    return split


def read_splits(data_dir, fast: bool | None = None) -> dict[str, HMMSplit]:
    """All three splits of an HMM data folder."""
    return {s: read_split(split_path(data_dir, s), fast=fast) for s in SPLITS}


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
