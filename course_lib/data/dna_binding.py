"""DNA binding sites: reader for the `seq,bind` CSV and the fixed train/valid/test split.

On-disk format (one file, `dna_binding.csv`):
    ,seq,bind
    0,TTGGTCGG...,1        101-nt DNA (A C G T), label 0/1; the first column is an unnamed row index

The real copy has 12,904 balanced rows; `dna_binding_synthetic` writes a synthetic file in the
same format. Splits: 80/20 train/test with a
fixed seed, then 10 % of train as validation.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .. import config
from .subsets import stratified_indices

FILE_NAME = "dna_binding.csv"
SEQ_LEN = 101
REAL_ROWS = 12_904
BATCH_SIZE = 256
TEST_FRACTION = 0.2
VALID_FRACTION = 0.1          # of the training part
SPLIT_SEED = 0
FAST_ROWS = {"train": 800, "valid": 200, "test": 400}
SPLITS = ("train", "valid", "test")
LAYOUTS = ((FILE_NAME,),)


def read_csv(path) -> pd.DataFrame:
    """The `seq`, `bind` columns of a binding-site CSV, validated.

    Returns a DataFrame with a fresh 0..N-1 index, `seq` upper-case strings and `bind` int64 0/1.
    Raises FileNotFoundError / ValueError naming the file and what was expected.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file (expected a CSV with columns seq,bind)")
    try:
        df = pd.read_csv(path, index_col=0 if _has_index_column(path) else None)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a readable CSV ({exc})") from None
    missing = {"seq", "bind"} - set(df.columns)
    if missing:
        raise ValueError(f"{path}: missing column(s) {sorted(missing)}; found {list(df.columns)}")
    df = df[["seq", "bind"]].reset_index(drop=True)
    if df["seq"].isna().any():
        raise ValueError(f"{path}: empty sequence in row {int(df['seq'].isna().to_numpy().argmax())}")
    df["seq"] = df["seq"].astype(str).str.upper()
    bad = ~df["seq"].str.fullmatch(r"[ACGT]+")
    if bad.any():
        row = int(bad.to_numpy().argmax())
        raise ValueError(f"{path}: row {row} has a letter other than A, C, G, T: {df['seq'][row][:30]!r}")
    labels = pd.to_numeric(df["bind"], errors="coerce")
    if not labels.isin([0, 1]).all():
        raise ValueError(f"{path}: column bind must hold only 0 and 1")
    df["bind"] = labels.astype(np.int64)
    return df


def _has_index_column(path: Path) -> bool:
    with open(path, encoding="utf-8", errors="replace") as fh:
        header = fh.readline().rstrip("\r\n").split(",")
    return bool(header) and header[0].strip() in {"", "Unnamed: 0"}


def split_indices(n: int, seed: int = SPLIT_SEED) -> dict[str, np.ndarray]:
    """Row indices of train/valid/test: 20 % test, then 10 % of the rest as validation (shuffled, fixed seed)."""
    if n < 10:
        raise ValueError(f"need at least 10 rows to split, got {n}")
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * TEST_FRACTION))
    test, rest = order[:n_test], order[n_test:]
    n_valid = int(round(rest.size * VALID_FRACTION))
    return {"train": rest[n_valid:], "valid": rest[:n_valid], "test": test}


def csv_path(path) -> Path:
    """The CSV to read: `path` itself if it is a file, else `path`/dna_binding.csv."""
    p = Path(path)
    return p if p.is_file() else p / FILE_NAME


def read_splits(path, fast: bool | None = None, seed: int = SPLIT_SEED) -> dict[str, pd.DataFrame]:
    """Train/valid/test DataFrames (columns seq, bind) of a CSV, or of a folder's dna_binding.csv.

    In fast mode (COURSE_FAST=1, or fast=True) each split is a small class-stratified subset.
    """
    df = read_csv(csv_path(path))
    parts = {name: df.iloc[rows].reset_index(drop=True) for name, rows in split_indices(len(df), seed).items()}
    if config.fast_mode() if fast is None else fast:
        parts = {name: part.iloc[stratified_indices(part["bind"].to_numpy(), FAST_ROWS[name], seed=seed)]
                 .reset_index(drop=True) for name, part in parts.items()}
    return parts
