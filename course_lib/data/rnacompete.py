"""RNAcompete 2013 binding intensities: reader, on-disk cache, splits and the students' Dataset.

On-disk layout (Ray et al. 2013 supplementary files):
    norm_data.txt   tab-separated, one row per probe: `Probe_Set` (SetA / SetB), `Probe_ID`,
                    `RNA_Seq` (up to 41 nt, A C G U, N allowed), then one column of normalized
                    intensities per experiment (`RNCMPT00001` ...), empty/NaN where missing.
    metadata.xlsx   one row per experiment: `Protein_name` -> `Motif_ID` (e.g. RBFOX1 -> RNCMPT00168).

The text matrix is parsed once (all probes, all experiments) into a cache folder under
`<data root>/cache/rnacompete/` (keyed by the file's path, size and modification time; the data
folder itself is never written to); later loads memory-map the cached arrays (read-only) and
read only the chosen experiment's column.

Splits: train/validation = SetA shuffled with a fixed seed (20 % validation), test = SetB.
Targets: clip at the 99.95th percentile, log-transform, z-score (statistics from the
observed training values); missing intensities get mask 0 (and target 0).
Sequences: one-hot in A C G U order, N -> 0.25 in every column, zero rows as padding to 41.
"""
from __future__ import annotations

import difflib
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import config
from ..encoding import RNA, indices_to_one_hot, to_indices
from .parsed import read_only

SEQ_LEN = 41
PAD = -2                       # index of a padding position (an N is -1)
DEFAULT_PROTEIN = "RBFOX1"
DATA_FILE = "norm_data.txt"
METADATA_FILE = "metadata.xlsx"
ID_COLUMNS = ("Probe_Set", "Probe_ID", "RNA_Seq")
SETS = ("SetA", "SetB")
SPLITS = ("train", "valid", "test")
VALID_FRACTION = 0.2
CLIP_PERCENTILE = 99.95
FAST_ROWS = {"train": 3000, "valid": 800, "test": 800}
CACHE_VERSION = 1
LAYOUTS = ((DATA_FILE, METADATA_FILE),)


# ---------------------------------------------------------------- metadata
def read_metadata(path) -> dict[str, list[str]]:
    """metadata.xlsx -> {Protein_name: [Motif_ID, ...]} (a protein may have several experiments)."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing metadata file (an .xlsx with Protein_name and Motif_ID)")
    table = pd.read_excel(path, dtype=str)
    missing = [c for c in ("Protein_name", "Motif_ID") if c not in table.columns]
    if missing:
        raise ValueError(f"{path}: no column(s) {missing}; found {list(table.columns)}")
    proteins: dict[str, list[str]] = {}
    for name, motif_id in zip(table["Protein_name"], table["Motif_ID"]):
        if isinstance(name, str) and isinstance(motif_id, str):
            proteins.setdefault(name.strip(), []).append(motif_id.strip())
    return proteins


def _close_matches(word: str, choices) -> str:
    matches = difflib.get_close_matches(word, list(choices), n=5, cutoff=0.5)
    return f"; close matches: {', '.join(matches)}" if matches else ""


def resolve_experiment(protein: str, metadata: dict[str, list[str]], columns, source: str = "") -> str:
    """The experiment column for `protein` (a Protein_name, or an RNCMPT id directly).

    A protein with several experiments gives its first listed one. Unknown names and ids
    missing from the matrix raise KeyError listing close matches.
    """
    columns = list(columns)
    if protein in columns:
        return protein
    by_name = {name.lower(): ids for name, ids in metadata.items()}
    ids = by_name.get(protein.lower())
    if ids is None:
        raise KeyError(f"protein {protein!r} is not in the metadata{' of ' + source if source else ''}"
                       + _close_matches(protein, metadata))
    present = [i for i in ids if i in columns]
    if not present:
        raise KeyError(f"protein {protein!r} maps to {ids} but no such column is in the intensity matrix"
                       + _close_matches(ids[0], columns))
    return present[0]


# ---------------------------------------------------------------- parsing and cache
@dataclass(frozen=True)
class ProbeMatrix:
    """Every probe of norm_data.txt, parsed: the form kept in the on-disk cache.

    seqs: (N, 41) int8 base indices (0..3 = A C G U, -1 = N, -2 = padding);
    in_set_a: (N,) bool; probe_ids: (N,) str; intensities: (E, N) float32, one row per experiment
    (memory-mapped when loaded from the cache); experiments: the E column names.
    """
    seqs: np.ndarray
    in_set_a: np.ndarray
    probe_ids: np.ndarray
    intensities: np.ndarray
    experiments: tuple
    source: str

    def __len__(self) -> int:
        return self.seqs.shape[0]

    def column(self, experiment: str) -> np.ndarray:
        """The (N,) float32 intensities of one experiment (NaN where missing)."""
        return np.asarray(self.intensities[self.experiments.index(experiment)], dtype=np.float32)


def encode_sequences(seqs, source: str = "sequences") -> np.ndarray:
    """RNA strings -> (N, 41) int8 indices (A C G U = 0..3, N = -1, padding = -2); T is read as U."""
    seqs = [str(s).strip().upper().replace("T", "U") for s in seqs]
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    too_long = np.flatnonzero(lengths > SEQ_LEN)
    if too_long.size:
        row = int(too_long[0])
        raise ValueError(f"{source}: row {row} has a sequence of {lengths[row]} nt; at most {SEQ_LEN} expected")
    joined = "".join(seqs)
    try:
        flat = to_indices(joined, RNA, unknown="N")
    except ValueError:
        for row, s in enumerate(seqs):  # only on error: find the offending row for the message
            try:
                to_indices(s, RNA, unknown="N")
            except ValueError as exc:
                raise ValueError(f"{source}: row {row} ({s!r}): {exc}") from None
        raise
    out = np.full((len(seqs), SEQ_LEN), PAD, dtype=np.int8)
    rows = np.repeat(np.arange(len(seqs)), lengths)
    cols = np.arange(flat.size) - np.repeat(np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
    out[rows, cols] = flat
    return out


def parse_norm_data(path) -> ProbeMatrix:
    """Parse norm_data.txt (slow for the real file: tens of seconds). Prefer `load_matrix`."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing intensity matrix ({DATA_FILE}, tab-separated)")
    header = path.open().readline().rstrip("\n\r").split("\t")
    missing = [c for c in ID_COLUMNS if c not in header]
    if missing:
        raise ValueError(f"{path}: header lacks {missing}; expected {list(ID_COLUMNS)} then RNCMPT... columns")
    experiments = tuple(c for c in header if c not in ID_COLUMNS)
    if not experiments:
        raise ValueError(f"{path}: no intensity columns after {list(ID_COLUMNS)}")
    # float64 parsing, then float32: per-column float32 dtypes make read_csv twice as slow
    table = pd.read_csv(path, sep="\t", dtype={c: str for c in ID_COLUMNS})
    non_numeric = [c for c in experiments if not pd.api.types.is_numeric_dtype(table[c])]
    if non_numeric:
        raise ValueError(f"{path}: column {non_numeric[0]} holds text; expected numbers (or NaN/empty)")
    sets = table["Probe_Set"].to_numpy()
    bad = ~np.isin(sets, SETS)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{path}: row {row} has Probe_Set {sets[row]!r}; expected SetA or SetB")
    intensities = np.ascontiguousarray(table[list(experiments)].to_numpy(np.float32).T)
    return ProbeMatrix(seqs=encode_sequences(table["RNA_Seq"].to_numpy(), str(path)),
                       in_set_a=sets == "SetA", probe_ids=table["Probe_ID"].to_numpy().astype(str),
                       intensities=intensities, experiments=experiments, source=str(path))


def _file_key(path: Path) -> dict:
    st = path.stat()
    return {"version": CACHE_VERSION, "size": st.st_size, "mtime_ns": st.st_mtime_ns}


def cache_dir_for(path) -> Path:
    """Where the parsed arrays of `path` are cached: <data root>/cache/rnacompete/<name>-<path digest>."""
    path = Path(path).resolve()
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:12]
    return config.cache_dir("rnacompete") / f"{path.name}-{digest}"


_ARRAYS = ("seqs", "in_set_a", "probe_ids", "intensities")


def _write_cache(matrix: ProbeMatrix, cache: Path, key: dict) -> None:
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=cache.name + ".", dir=cache.parent))
    tmp.chmod(0o755)
    for name in _ARRAYS:
        np.save(tmp / f"{name}.npy", getattr(matrix, name))
    (tmp / "key.json").write_text(json.dumps({**key, "experiments": list(matrix.experiments)}))
    if cache.exists():
        shutil.rmtree(cache, ignore_errors=True)
    try:
        tmp.rename(cache)
    except OSError:  # another process finished first: keep theirs
        shutil.rmtree(tmp, ignore_errors=True)


def _read_cache(cache: Path, key: dict, source: str) -> ProbeMatrix | None:
    try:
        stored = json.loads((cache / "key.json").read_text())
    except (OSError, ValueError):
        return None
    experiments = tuple(stored.pop("experiments", ()))
    if stored != key:
        return None
    try:
        arrays = {name: np.load(cache / f"{name}.npy", mmap_mode="r" if name == "intensities" else None)
                  for name in _ARRAYS}
    except (OSError, ValueError):
        return None
    return ProbeMatrix(**arrays, experiments=experiments, source=source)


def load_matrix(path, use_cache: bool = True) -> ProbeMatrix:
    """norm_data.txt parsed once, then reloaded from its cache (memory-mapped, well under a second).

    The matrix is shared by later calls: its arrays are read-only.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: missing intensity matrix ({DATA_FILE}, tab-separated)")
    if not use_cache:
        return parse_norm_data(path)
    return _load_matrix_cached(str(path.resolve()), json.dumps(_file_key(path)))


@lru_cache(maxsize=2)
def _load_matrix_cached(path_str: str, key_json: str) -> ProbeMatrix:
    path, key = Path(path_str), json.loads(key_json)
    cache = cache_dir_for(path)
    matrix = _read_cache(cache, key, str(path))
    if matrix is None:
        matrix = parse_norm_data(path)
        try:
            _write_cache(matrix, cache, key)
        except OSError:
            pass  # no writable place: still correct, only slower next time
    return read_only(matrix)  # shared by every later call


# ---------------------------------------------------------------- targets and splits
@dataclass(frozen=True)
class TargetTransform:
    """clip at `upper`, then log(x - `shift`), then z-score with `mean`, `std` (all fit on training values)."""
    upper: float
    shift: float
    mean: float
    std: float

    @classmethod
    def fit(cls, values: np.ndarray, percentile: float = CLIP_PERCENTILE) -> "TargetTransform":
        """Statistics from the observed (non-NaN) entries of `values`."""
        observed = values[np.isfinite(values)]
        if observed.size < 2:
            raise ValueError(f"only {observed.size} observed intensities: cannot normalize targets")
        upper = float(np.percentile(observed, percentile))
        clipped = np.minimum(observed, upper)
        shift = float(clipped.min()) - 1.0    # log argument >= 1, so negative intensities are fine too
        logged = np.log(clipped - shift)
        std = float(logged.std())
        return cls(upper, shift, float(logged.mean()), std if std > 0 else 1.0)

    def __call__(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(targets float32 with 0 where missing, mask float32 1 = observed)."""
        values = np.asarray(values, dtype=np.float64)
        mask = np.isfinite(values)
        clipped = np.clip(values[mask], self.shift + 1.0, self.upper)
        out = np.zeros(values.shape, np.float32)
        out[mask] = (np.log(clipped - self.shift) - self.mean) / self.std
        return out, mask.astype(np.float32)


@dataclass(frozen=True)
class RNACompeteSplit:
    """One split of one experiment: seqs (n, 41) int8 indices, y and mask (n, 1) float32, rows into the file."""
    seqs: np.ndarray
    y: np.ndarray
    mask: np.ndarray
    rows: np.ndarray
    experiment: str
    protein: str
    source: str

    def __len__(self) -> int:
        return self.seqs.shape[0]

    def subset(self, take: np.ndarray) -> "RNACompeteSplit":
        return replace(self, seqs=self.seqs[take], y=self.y[take], mask=self.mask[take], rows=self.rows[take])

    def one_hot(self) -> np.ndarray:
        """(n, 41, 4) float32: A C G U one-hot, N = 0.25 each, padding = zeros."""
        return one_hot_probes(self.seqs)


def one_hot_probes(seqs: np.ndarray) -> np.ndarray:
    """(n, 41) indices (-1 = N, -2 = padding) -> (n, 41, 4) float32 one-hot."""
    out = indices_to_one_hot(seqs, 4, unknown_value=0.25)
    out[seqs == PAD] = 0.0
    return out


def split_rows(in_set_a: np.ndarray, seed: int = 0, valid_fraction: float = VALID_FRACTION) -> dict:
    """Row indices of train/valid (SetA shuffled with `seed`, last `valid_fraction` -> valid) and test (SetB)."""
    set_a = np.flatnonzero(in_set_a)
    shuffled = np.random.default_rng(seed).permutation(set_a)
    n_valid = int(round(valid_fraction * set_a.size))
    return {"train": shuffled[n_valid:], "valid": shuffled[:n_valid], "test": np.flatnonzero(~in_set_a)}


def read_splits(data_dir, protein: str = DEFAULT_PROTEIN, fast: bool | None = None, seed: int = 0,
                valid_fraction: float = VALID_FRACTION) -> dict[str, RNACompeteSplit]:
    """train / valid / test splits of one protein's experiment in a folder with both files.

    Target statistics come from the training rows only. Fast mode (COURSE_FAST=1 or fast=True)
    keeps a random subset of FAST_ROWS per split.
    """
    d = Path(data_dir)
    matrix = load_matrix(d / DATA_FILE)
    experiment = resolve_experiment(protein, read_metadata(d / METADATA_FILE), matrix.experiments,
                                    source=str(d / METADATA_FILE))
    values = matrix.column(experiment)
    rows = split_rows(matrix.in_set_a, seed, valid_fraction)
    transform = TargetTransform.fit(values[rows["train"]])
    fast = config.fast_mode() if fast is None else fast
    splits = {}
    for i, name in enumerate(SPLITS):
        r = rows[name]
        if fast and r.size > FAST_ROWS[name]:
            r = np.sort(np.random.default_rng(seed + 1 + i).choice(r, FAST_ROWS[name], replace=False))
        y, mask = transform(values[r])
        splits[name] = RNACompeteSplit(np.asarray(matrix.seqs[r]), y.reshape(-1, 1), mask.reshape(-1, 1), r,
                                       experiment, protein, matrix.source)
    return splits


class RNACompeteDataset(Dataset):
    """Items (x (41, 4) float32, y (1,), mask (1,)) of one RNACompeteSplit.

    Indexing with a list or array of rows returns a whole batch at once (see
    course_lib.training.make_loader).
    """

    def __init__(self, split: RNACompeteSplit):
        self.split = split
        self.x = torch.from_numpy(split.one_hot())
        self.y = torch.from_numpy(split.y)
        self.mask = torch.from_numpy(split.mask)

    def __len__(self) -> int:
        return self.x.shape[0]

    def __getitem__(self, i):
        return self.x[i], self.y[i], self.mask[i]
