"""JUND binding on chr22: reader for DeepChem DiskDataset shards, and the students' Dataset.

On-disk layout (one folder per split: train_dataset/, valid_dataset/, test_dataset/):
    shard-0-X.joblib   (N, 101, 4) one-hot, A C G T; all-zero rows are N
    shard-0-y.joblib   (N, 1) 0/1 labels
    shard-0-w.joblib   (N, 1) sample weights (both classes carry equal total weight)
    shard-0-a.joblib   (N, 1) chromatin accessibility (optional: zeros + a warning if absent)
    shard-0-ids.joblib (N,) "chr22:start-end" (optional)
    metadata.csv.gzip, tasks.json (DeepChem's bookkeeping)
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, replace
from pathlib import Path

import joblib
import numpy as np
import torch
from torch.utils.data import Dataset

from .. import config
from .parsed import parse_once
from .subsets import stratified_indices

SPLITS = ("train", "valid", "test")
SEQ_LEN = 101
REAL_SIZES = {"train": 276_216, "valid": 34_527, "test": 34_528}
FAST_ROWS = {"train": 4000, "valid": 1500, "test": 1500}
FAST_MIN_POSITIVES = 40
# the files a complete real copy has (accessibility and ids are optional)
LAYOUTS = (tuple(f"{s}_dataset/shard-0-{k}.joblib" for s in SPLITS for k in "Xyw"),)


class MissingAccessibilityWarning(UserWarning):
    """The split has no shard-0-a.joblib: accessibility is all zeros."""


@dataclass(frozen=True)
class JUNDSplit:
    """One split in memory. X is int8 (N, 101, 4); y, w, a are float32 (N, 1)."""
    X: np.ndarray
    y: np.ndarray
    w: np.ndarray
    a: np.ndarray
    ids: np.ndarray | None
    source: str

    def __len__(self) -> int:
        return self.X.shape[0]

    @property
    def n_positives(self) -> int:
        return int(self.y.sum())

    def subset(self, rows: np.ndarray) -> "JUNDSplit":
        """Rows `rows`, with weights recomputed so both classes again carry equal total weight."""
        y = self.y[rows]
        ids = None if self.ids is None else self.ids[rows]
        return replace(self, X=self.X[rows], y=y, w=balanced_weights(y), a=self.a[rows], ids=ids)


def balanced_weights(y: np.ndarray) -> np.ndarray:
    """Weights N / (2 * n_class) for each row: each class carries half the total weight."""
    y = np.asarray(y).reshape(-1, 1)
    n = y.shape[0]
    n_pos = float(y.sum())
    n_neg = n - n_pos
    w = np.where(y > 0.5, n / (2 * max(n_pos, 1)), n / (2 * max(n_neg, 1)))
    return w.astype(np.float32)


def _load_array(path: Path, what: str) -> np.ndarray:
    try:
        arr = joblib.load(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: missing {what} file") from None
    except Exception as exc:  # joblib raises many kinds of errors on a corrupt file
        raise ValueError(f"{path}: could not read {what} ({type(exc).__name__}: {exc})") from None
    return np.asarray(arr)


def _column(arr: np.ndarray, path: Path, n: int, what: str) -> np.ndarray:
    if arr.shape not in {(n,), (n, 1)}:
        raise ValueError(f"{path}: {what} has shape {arr.shape}, expected ({n}, 1) to match X")
    return arr.reshape(n, 1).astype(np.float32)


@parse_once
def _read_split_cached(d: Path) -> JUNDSplit:
    x_path = d / "shard-0-X.joblib"
    X = _load_array(x_path, "one-hot sequence (X)")
    if X.ndim != 3 or X.shape[1:] != (SEQ_LEN, 4):
        raise ValueError(f"{x_path}: X has shape {X.shape}, expected (N, {SEQ_LEN}, 4)")
    n = X.shape[0]
    y = _column(_load_array(d / "shard-0-y.joblib", "label (y)"), d / "shard-0-y.joblib", n, "y")
    if not np.isin(y, (0, 1)).all():
        raise ValueError(f"{d / 'shard-0-y.joblib'}: labels must be 0 or 1")
    w = _column(_load_array(d / "shard-0-w.joblib", "weight (w)"), d / "shard-0-w.joblib", n, "w")
    a_path = d / "shard-0-a.joblib"
    if a_path.exists():
        a = _column(_load_array(a_path, "accessibility (a)"), a_path, n, "a")
    else:
        warnings.warn(f"{d}: no shard-0-a.joblib; accessibility set to zeros",
                      MissingAccessibilityWarning, stacklevel=5)
        a = np.zeros((n, 1), np.float32)
    ids_path = d / "shard-0-ids.joblib"
    ids = _load_array(ids_path, "ids") if ids_path.exists() else None
    if ids is not None and ids.shape != (n,):
        raise ValueError(f"{ids_path}: ids has shape {ids.shape}, expected ({n},)")
    return JUNDSplit(X.astype(np.int8, copy=False), y, w, a, ids, str(d))


def read_split(split_dir, fast: bool | None = None) -> JUNDSplit:
    """Read one DiskDataset split folder (parsed once per process; the arrays are read-only).

    In fast mode (COURSE_FAST=1, or fast=True) returns a small stratified subset.
    """
    d = Path(split_dir)
    if not d.is_dir():
        raise FileNotFoundError(f"{d}: no such split folder (expected shard-0-X/y/w.joblib inside)")
    split = _read_split_cached(d)
    if config.fast_mode() if fast is None else fast:
        name = next((s for s in SPLITS if d.name.startswith(s)), "valid")
        rows = stratified_indices(split.y, FAST_ROWS[name], FAST_MIN_POSITIVES, seed=0)
        split = split.subset(rows)
    return split


def split_dir(data_dir, split: str) -> Path:
    """The folder of `split` ('train', 'valid' or 'test') inside a JUND data folder."""
    if split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {split!r}")
    return Path(data_dir) / f"{split}_dataset"


def read_splits(data_dir, fast: bool | None = None) -> dict[str, JUNDSplit]:
    """All three splits of a JUND folder (see `course_lib.datasets.load_jund` for the fallback)."""
    return {s: read_split(split_dir(data_dir, s), fast=fast) for s in SPLITS}


def concat_splits(splits) -> JUNDSplit:
    """The rows of several splits in one (e.g. training + validation), weights recomputed for the whole."""
    splits = list(splits)
    if not splits:
        raise ValueError("concat_splits needs at least one split")
    ids = None if any(s.ids is None for s in splits) else np.concatenate([s.ids for s in splits])
    y = np.concatenate([s.y for s in splits])
    return replace(splits[0], X=np.concatenate([s.X for s in splits]), y=y, w=balanced_weights(y),
                   a=np.concatenate([s.a for s in splits]), ids=ids,
                   source=" + ".join(str(s.source) for s in splits))


class JUNDDataset(Dataset):
    """Items (X (101, 4) float32, y (1,), w (1,), a (1,)) from one split folder or a JUNDSplit.

    Indexing with a list or array of rows returns a whole batch at once (see
    course_lib.training.make_loader), which makes an epoch much faster.
    """

    def __init__(self, data_dir, fast: bool | None = None):
        split = data_dir if isinstance(data_dir, JUNDSplit) else read_split(data_dir, fast=fast)
        self.split = split
        self.X = torch.tensor(split.X, dtype=torch.float32)   # copies: the split stays as read
        self.y = torch.tensor(split.y)
        self.w = torch.tensor(split.w)
        self.a = torch.tensor(split.a)

    def __len__(self) -> int:
        return self.X.shape[0]

    def __getitem__(self, i):
        return self.X[i], self.y[i], self.w[i], self.a[i]


class SubsampledNegatives:
    """Batches for one epoch: every bound window and a fresh random share `keep` of the unbound ones.

    Each kept unbound window stands for 1/keep of them, so its weight is multiplied by 1/keep; then all
    weights are scaled by n_epoch / n so that the mean weight stays what it was. The weighted loss of an
    epoch is then, on average over the draws, the loss on all windows (an unbiased estimate), for a
    fraction of the cost: with 0.4 % bound windows, keep=0.05 trains on about 1 window in 19.
    Use it in place of a DataLoader: `for X, y, w, a in SubsampledNegatives(dataset, 256, keep=0.05)`.
    """

    def __init__(self, dataset: JUNDDataset, batch_size: int, keep: float, seed: int = 0):
        if not 0 < keep <= 1:
            raise ValueError(f"keep must be in (0, 1], got {keep}")
        self.dataset, self.batch_size, self.keep = dataset, int(batch_size), float(keep)
        labels = dataset.y.reshape(-1) > 0.5
        self.positives = torch.nonzero(labels).reshape(-1)
        self.negatives = torch.nonzero(~labels).reshape(-1)
        self.n_negatives = max(1, int(round(self.keep * len(self.negatives)))) if len(self.negatives) else 0
        self.epoch_size = len(self.positives) + self.n_negatives
        share = self.n_negatives / max(len(self.negatives), 1)        # `keep`, up to rounding
        scale = torch.where(dataset.y > 0.5, torch.tensor(1.0), torch.tensor(1.0 / max(share, 1e-12)))
        self.w = dataset.w * scale * (self.epoch_size / len(dataset))
        self.generator = torch.Generator().manual_seed(seed)

    def __len__(self) -> int:
        return -(-self.epoch_size // self.batch_size)

    def __iter__(self):
        pick = torch.randperm(len(self.negatives), generator=self.generator)[:self.n_negatives]
        rows = torch.cat([self.positives, self.negatives[pick]])
        rows = rows[torch.randperm(len(rows), generator=self.generator)]
        d = self.dataset
        for start in range(0, len(rows), self.batch_size):
            i = rows[start:start + self.batch_size]
            yield d.X[i], d.y[i], self.w[i], d.a[i]
