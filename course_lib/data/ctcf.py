"""CTCF ChIP-seq peaks: readers for Koo-style HDF5 and DeepBind-style text, and the students' Dataset.

Two real on-disk formats are read:

* Koo-style HDF5 (`CTCF_200.h5`): datasets `x_train`, `y_train`, `x_valid`, `y_valid`,
  `x_test`, `y_test`; x is stored (N, 4, L) one-hot (A C G T) and returned (N, L, 4);
  y is (N,) or (N, 1) with 0/1 labels. The synthetic writer adds `motif_pos_<split>`
  (start of the planted CTCF site, -1 where none).
* DeepBind-style text (`ctcf_ENCSR000AQU.txt`): one `>name SEQUENCE label` per line;
  negatives are dinucleotide shuffles whose names end in `_shuf`. A single file holds
  every sequence: `split_rows` divides it into train/valid/test with a fixed seed.

A CTCF folder holds one of them; `ctcf_synthetic` writes a synthetic `CTCF_200.h5`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from .. import config
from ..encoding import indices_to_one_hot, to_indices
from .parsed import parse_once
from .subsets import stratified_indices

SPLITS = ("train", "valid", "test")
H5_NAME = "CTCF_200.h5"
TEXT_FRACTIONS = (0.8, 0.1, 0.1)
FAST_ROWS = {"train": 1000, "valid": 300, "test": 300}
TEXT_PATTERN = "*.txt"
LAYOUTS = ((H5_NAME,), (TEXT_PATTERN,))


@dataclass(frozen=True)
class CTCFSplit:
    """One split in memory. X is int8 (N, L, 4) one-hot (all-zero rows are N); y is float32 (N, 1).

    `names` holds the sequence names of a text file (None for HDF5); `motif_pos` the start
    of the planted site in synthetic data (-1 where none; None for real data).
    """
    X: np.ndarray
    y: np.ndarray
    source: str
    names: np.ndarray | None = None
    motif_pos: np.ndarray | None = None

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def seq_len(self) -> int:
        return self.X.shape[1]

    @property
    def n_positives(self) -> int:
        return int(self.y.sum())

    def subset(self, rows) -> "CTCFSplit":
        """The rows `rows` of this split (every per-row field follows)."""
        rows = np.asarray(rows)
        pick = lambda a: None if a is None else a[rows]  # noqa: E731
        return replace(self, X=self.X[rows], y=self.y[rows], names=pick(self.names),
                       motif_pos=pick(self.motif_pos))


def _labels(y: np.ndarray, where: str, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape not in {(n,), (n, 1)}:
        raise ValueError(f"{where}: labels have shape {y.shape}, expected ({n},) or ({n}, 1) to match x")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{where}: labels must be 0 or 1")
    return y.reshape(n, 1).astype(np.float32)


def _h5_dataset(fh: h5py.File, key: str, path: Path) -> np.ndarray:
    if key not in fh:
        raise KeyError(f"{path}: no dataset {key!r}; expected x_/y_ train, valid and test (found {sorted(fh)})")
    return fh[key][()]


@parse_once
def _read_h5_cached(p: Path) -> dict:
    splits = {}
    try:
        fh = h5py.File(p, "r")
    except OSError as exc:
        raise ValueError(f"{p}: not a readable HDF5 file ({exc})") from None
    with fh:
        for split in SPLITS:
            x = _h5_dataset(fh, f"x_{split}", p)
            if x.ndim != 3 or x.shape[1] != 4:
                raise ValueError(f"{p}: x_{split} has shape {x.shape}, expected (N, 4, L) one-hot")
            n = x.shape[0]
            y = _labels(_h5_dataset(fh, f"y_{split}", p), f"{p}: y_{split}", n)
            motif_pos = None
            if f"motif_pos_{split}" in fh:
                motif_pos = fh[f"motif_pos_{split}"][()].astype(np.int32)
                if motif_pos.shape != (n,):
                    raise ValueError(f"{p}: motif_pos_{split} has shape {motif_pos.shape}, expected ({n},)")
            X = np.ascontiguousarray(np.transpose(x, (0, 2, 1))).astype(np.int8)
            splits[split] = CTCFSplit(X, y, f"{p}:{split}", motif_pos=motif_pos)
    return splits


def read_h5(path) -> dict[str, CTCFSplit]:
    """Every split of a Koo-style HDF5 file, x transposed to (N, L, 4) (parsed once per process;
    the arrays are read-only)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such HDF5 file (expected x_train, y_train, ... inside)")
    return dict(_read_h5_cached(p))  # a new dict: the cached one stays as read


def parse_text_line(line: str, where: str) -> tuple[str, str, int]:
    """(name, sequence, label) from one `>name SEQUENCE label` line."""
    parts = line.split()
    if len(parts) != 3 or not parts[0].startswith(">") or parts[2] not in {"0", "1"}:
        raise ValueError(f"{where}: expected '>name SEQUENCE label' with label 0 or 1, got {line.strip()[:60]!r}")
    return parts[0][1:], parts[1], int(parts[2])


@parse_once
def _read_text_cached(p: Path) -> CTCFSplit:
    names, seqs, labels = [], [], []
    with open(p) as fh:
        for lineno, line in enumerate(fh, 1):
            if not line.strip():
                continue
            name, seq, label = parse_text_line(line, f"{p}:{lineno}")
            if seqs and len(seq) != len(seqs[0]):
                raise ValueError(f"{p}:{lineno}: sequence of length {len(seq)}, expected {len(seqs[0])} "
                                 "like the first line")
            try:
                seqs.append(to_indices(seq))
            except ValueError as exc:
                raise ValueError(f"{p}:{lineno}: {exc}") from None
            names.append(name)
            labels.append(label)
    if not seqs:
        raise ValueError(f"{p}: no sequences found (expected '>name SEQUENCE label' lines)")
    X = indices_to_one_hot(np.stack(seqs), dtype=np.int8)
    y = np.asarray(labels, np.float32).reshape(-1, 1)
    return CTCFSplit(X, y, str(p), names=np.asarray(names))


def read_text(path) -> CTCFSplit:
    """All sequences of a DeepBind-style text file as one split (parsed once per process;
    the arrays are read-only)."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{p}: no such text file (expected '>name SEQUENCE label' lines)")
    return _read_text_cached(p)


def split_rows(split: CTCFSplit, fractions=TEXT_FRACTIONS, seed: int = 0) -> dict[str, CTCFSplit]:
    """Train/valid/test parts of one split: a random permutation with `seed`, cut by `fractions`."""
    if len(fractions) != 3 or not np.isclose(sum(fractions), 1.0) or min(fractions) <= 0:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")
    rows = np.random.default_rng(seed).permutation(len(split))
    cuts = np.round(np.cumsum(fractions)[:2] * len(split)).astype(int)
    parts = np.split(rows, cuts)
    return {name: split.subset(np.sort(part)) for name, part in zip(SPLITS, parts)}


def shrink(splits: dict[str, CTCFSplit], seed: int = 0) -> dict[str, CTCFSplit]:
    """The fast-mode version of `splits`: class-stratified subsets of FAST_ROWS rows."""
    return {s: sp.subset(stratified_indices(sp.y, FAST_ROWS[s], min_per_class=20, seed=seed))
            for s, sp in splits.items()}


def data_file(path) -> Path:
    """The file to read: `path` itself if it is a file, else the folder's CTCF_200.h5 or its one text file."""
    p = Path(path)
    if p.is_file():
        return p
    if (p / H5_NAME).is_file():
        return p / H5_NAME
    texts = sorted(p.glob(TEXT_PATTERN))
    if len(texts) != 1:
        found = f"found {', '.join(t.name for t in texts)}" if texts else "found none"
        raise FileNotFoundError(f"{p}: expected {H5_NAME} or one DeepBind-style text file (*.txt), {found}: "
                                "pass the path of the file to read")
    return texts[0]


def read_splits(path, fast: bool | None = None, seed: int = 0) -> dict[str, CTCFSplit]:
    """train/valid/test from an HDF5 file, or from a text file split with `seed` (a file, or a
    folder holding one). In fast mode (COURSE_FAST=1, or fast=True) every split is a small
    stratified subset."""
    p = data_file(path)
    splits = read_h5(p) if p.suffix.lower() in {".h5", ".hdf5"} else split_rows(read_text(p), seed=seed)
    if config.fast_mode() if fast is None else fast:
        splits = shrink(splits, seed=seed)
    return splits


class CTCFDataset(Dataset):
    """Items (X (L, 4) float32, y (1,) float32) from a CTCFSplit.

    Indexing with a list or array of rows returns a whole batch at once (see
    course_lib.training.make_loader).
    """

    def __init__(self, split: CTCFSplit):
        if not isinstance(split, CTCFSplit):
            raise TypeError(f"CTCFDataset expects a CTCFSplit (from load_ctcf), got {type(split).__name__}")
        self.split = split
        self.X = torch.tensor(split.X, dtype=torch.float32)   # copies: the split stays as read
        self.y = torch.tensor(split.y)

    def __len__(self) -> int:
        return self.X.shape[0]

    def __getitem__(self, i):
        return self.X[i], self.y[i]
