"""Synthetic RNAcompete data in the real layout (norm_data.txt + metadata.xlsx), with known truth.

Generative model, per probe (a random RNA of 35-41 nt, uniform bases, rare N):
  * RBFOX1 (RNCMPT00168): expected intensity
        mu = base * exp(u_effect * (U fraction - 0.25))
             + site_effect * sum over UGCAUG sites of position(p) * flank(p)
             + half_site_effect * (number of GCAUG not preceded by U)
    where position(p) falls linearly from 1.2 at the 5' end to 0.6 at the 3' end and
    flank(p) = 1.5 when the site is followed by U (UGCAUGU), else 1.
    A fraction `site_rate` of probes gets a planted UGCAUG, `half_site_rate` a planted GCAUG.
  * every other experiment: its own 6-mer, mu = base + effect * occurrences (no planting);
  * observed = mu * exp(noise_sigma * e), e ~ N(0, 1); a fraction `nan_rate` set to NaN.
The writer knows mu, so it reports the oracle: the Spearman correlation between mu and
the processed targets (the best any model can do), per split, in `synthetic.json`;
mu itself is saved as `rbfox1_expected.npy` (one value per row of norm_data.txt).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from . import manifest
from .rnacompete import (DATA_FILE, ID_COLUMNS, METADATA_FILE, PAD, SEQ_LEN, SPLITS, TargetTransform,
                         split_rows)

EXPECTED_FILE = "rbfox1_expected.npy"
FORMAT_VERSION = 1
RBFOX1 = ("RBFOX1", "RNCMPT00168", "UGCAUG")
# A few RNA-binding proteins with their well-known 6-mers (ids arbitrary, RBFOX1's is the real one).
NAMED = (
    ("HNRNPA1", "UAGGGA"), ("ELAVL1", "UUUAUU"), ("QKI", "ACUAAC"), ("SRSF1", "GGAGGA"),
    ("CELF1", "UGUUGU"), ("PUM2", "UGUAAA"), ("PTBP1", "UCUUCU"), ("MBNL1", "UGCUUG"),
)
LETTERS = np.array(list("ACGUN"))


@dataclass(frozen=True)
class RNACompeteGenerator:
    """Parameters of the synthetic RNAcompete data (all written to the manifest)."""
    n_probes: int = 10_000
    n_experiments: int = 8
    set_a_fraction: float = 0.5
    min_len: int = 35
    full_length_rate: float = 0.8
    n_rate: float = 0.002
    site_rate: float = 0.15
    half_site_rate: float = 0.1
    base: float = 1.0
    u_effect: float = 2.0
    site_effect: float = 3.0
    half_site_effect: float = 0.6
    flank_factor: float = 1.5
    other_effect: float = 2.0
    noise_sigma: float = 0.45
    nan_rate: float = 0.01

    @classmethod
    def full_scale(cls) -> "RNACompeteGenerator":
        """About the size of the real matrix: 241,357 probes x 244 experiments."""
        return cls(n_probes=241_357, n_experiments=244)


def experiments_for(n: int, rng: np.random.Generator) -> list[tuple[str, str, str]]:
    """(protein, experiment id, 6-mer) for n experiments: RBFOX1 first, then named, then random RBPs."""
    if n < 1:
        raise ValueError(f"n_experiments must be >= 1, got {n}")
    out = [RBFOX1]
    numbers = (k for k in range(1, 10_000) if k != 168)
    for protein, kmer in NAMED[: n - 1]:
        out.append((protein, f"RNCMPT{next(numbers):05d}", kmer))
    while len(out) < n:
        kmer = "".join(rng.choice(list("ACGU"), 6))
        out.append((f"RBP{len(out):03d}", f"RNCMPT{next(numbers):05d}", kmer))
    return out


def _kmer_code(kmer: str) -> int:
    return int(sum("ACGU".index(b) * 4 ** i for i, b in enumerate(reversed(kmer))))


def kmer_codes(seqs: np.ndarray, k: int) -> np.ndarray:
    """(N, 41 - k + 1) int32 code of the k-mer starting at each position; -1 if it has an N or padding."""
    windows = np.lib.stride_tricks.sliding_window_view(seqs, k, axis=1)
    codes = (windows.astype(np.int32) * (4 ** np.arange(k - 1, -1, -1, dtype=np.int32))).sum(-1)
    codes[(windows < 0).any(-1)] = -1
    return codes


def sample_probes(gen: RNACompeteGenerator, rng: np.random.Generator) -> np.ndarray:
    """(N, 41) int8 base indices with planted RBFOX1 sites, N = -1, padding = -2."""
    n = gen.n_probes
    seqs = rng.integers(0, 4, (n, SEQ_LEN)).astype(np.int8)
    lengths = np.where(rng.random(n) < gen.full_length_rate, SEQ_LEN, rng.integers(gen.min_len, SEQ_LEN, n))
    for kmer, rate in ((RBFOX1[2], gen.site_rate), ("GCAUG", gen.half_site_rate)):
        rows = np.flatnonzero(rng.random(n) < rate)
        starts = (rng.random(rows.size) * (lengths[rows] - len(kmer) + 1)).astype(np.int64)
        site = np.array(["ACGU".index(b) for b in kmer], np.int8)
        seqs[rows[:, None], starts[:, None] + np.arange(len(kmer))] = site
    with_n = np.flatnonzero(rng.random(n) < gen.n_rate)
    seqs[with_n, (rng.random(with_n.size) * lengths[with_n]).astype(np.int64)] = -1
    seqs[np.arange(SEQ_LEN)[None, :] >= lengths[:, None]] = PAD
    return seqs


def rbfox1_expected(gen: RNACompeteGenerator, seqs: np.ndarray) -> np.ndarray:
    """The true expected RBFOX1 intensity mu of each probe (see the module docstring)."""
    lengths = (seqs != PAD).sum(1)
    u_fraction = (seqs == 3).sum(1) / np.maximum(lengths, 1)
    mu = gen.base * np.exp(gen.u_effect * (u_fraction - 0.25))
    rows, pos = np.nonzero(kmer_codes(seqs, 6) == _kmer_code(RBFOX1[2]))
    position = 1.2 - 0.6 * pos / (SEQ_LEN - 6)
    after = np.where(pos + 6 < SEQ_LEN, seqs[rows, np.minimum(pos + 6, SEQ_LEN - 1)], PAD)
    flank = np.where(after == 3, gen.flank_factor, 1.0)
    mu += gen.site_effect * np.bincount(rows, position * flank, minlength=seqs.shape[0])
    rows5, pos5 = np.nonzero(kmer_codes(seqs, 5) == _kmer_code("GCAUG"))
    before = np.where(pos5 > 0, seqs[rows5, np.maximum(pos5 - 1, 0)], PAD)
    mu += gen.half_site_effect * np.bincount(rows5[before != 3], minlength=seqs.shape[0])
    return mu


def observe(gen: RNACompeteGenerator, mu: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Noisy measured intensities (float32) with NaN sprinkled in."""
    values = (mu * np.exp(gen.noise_sigma * rng.standard_normal(mu.shape))).astype(np.float32)
    values[rng.random(mu.shape) < gen.nan_rate] = np.nan
    return values


def oracle_spearman(mu: np.ndarray, values: np.ndarray, in_set_a: np.ndarray, seed: int = 0) -> dict:
    """Spearman between mu and the reader's processed targets, per split (observed probes only)."""
    from scipy import stats   # only when generating: reading data never imports scipy
    rows = split_rows(in_set_a, seed)
    transform = TargetTransform.fit(values[rows["train"]])
    out = {}
    for name in SPLITS:
        y, mask = transform(values[rows[name]])
        keep = mask > 0
        out[name] = float(stats.spearmanr(mu[rows[name]][keep], y[keep]).statistic)
    return out


def _format_rows(part: dict) -> str:
    """Tab-separated text of a block of rows (run in worker processes for big files)."""
    import pandas as pd

    return pd.DataFrame(part).to_csv(sep="\t", header=False, index=False, float_format="%.4f", na_rep="NaN")


def _write_matrix(path: Path, seqs: np.ndarray, in_set_a: np.ndarray, columns: dict, chunk: int = 10_000) -> None:
    """norm_data.txt, formatted block by block (in parallel processes when the file is large)."""
    lengths = (seqs != PAD).sum(1)
    letters = LETTERS[np.where(seqs == PAD, 0, seqs)]
    strings = np.array(["".join(row[:n]) for row, n in zip(letters, lengths)], dtype=object)
    ids = np.array([f"RBD_{'A' if a else 'B'}_{i:06d}" for i, a in enumerate(in_set_a)], dtype=object)
    sets = np.where(in_set_a, "SetA", "SetB")
    n = seqs.shape[0]
    blocks = ({"Probe_Set": sets[i:i + chunk], "Probe_ID": ids[i:i + chunk], "RNA_Seq": strings[i:i + chunk],
               **{k: v[i:i + chunk] for k, v in columns.items()}} for i in range(0, n, chunk))
    n_blocks = -(-n // chunk)
    tmp = path.with_name(path.name + ".part")
    with tmp.open("w", newline="") as fh:
        fh.write("\t".join(list(ID_COLUMNS) + list(columns)) + "\n")
        if n_blocks > 2 and (os.cpu_count() or 1) > 1:
            from concurrent.futures import ProcessPoolExecutor
            with ProcessPoolExecutor(max_workers=min(os.cpu_count(), 16)) as pool:
                texts = pool.map(_format_rows, blocks)
                for text in tqdm(texts, total=n_blocks, desc="writing norm_data.txt"):
                    fh.write(text)
        else:
            for block in blocks:
                fh.write(_format_rows(block))
    tmp.replace(path)


def _write_metadata(path: Path, experiments: list) -> None:
    import pandas as pd

    table = pd.DataFrame({"Motif_ID": [e[1] for e in experiments], "Protein_name": [e[0] for e in experiments],
                          "Species": "Homo_sapiens", "Consensus_6mer": [e[2] for e in experiments]})
    table.to_excel(path, index=False)


def write_synthetic(data_dir, seed: int = 0, generator: RNACompeteGenerator | None = None,
                    force: bool = False) -> dict:
    """Write norm_data.txt, metadata.xlsx, rbfox1_expected.npy and synthetic.json; return the manifest.

    Cached: a folder already holding data from the same parameters and seed is left as is.
    A folder holding files course_lib did not write is refused (manifest.ForeignFilesError).
    """
    gen = generator or RNACompeteGenerator()
    params = manifest.params_of(format_version=FORMAT_VERSION, seed=seed, generator=gen)
    return manifest.write_once(data_dir, params, lambda d: _write_files(d, gen, seed), force)


def _write_files(d: Path, gen: RNACompeteGenerator, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    experiments = experiments_for(gen.n_experiments, rng)
    seqs = sample_probes(gen, rng)
    in_set_a = np.zeros(gen.n_probes, bool)
    in_set_a[rng.permutation(gen.n_probes)[: int(round(gen.set_a_fraction * gen.n_probes))]] = True
    mu = rbfox1_expected(gen, seqs)
    columns = {RBFOX1[1]: observe(gen, mu, rng)}
    codes = kmer_codes(seqs, 6)
    for _, exp_id, kmer in experiments[1:]:
        count = (codes == _kmer_code(kmer)).sum(1)
        columns[exp_id] = observe(gen, gen.base + gen.other_effect * count, rng)
    # the file lists experiments in id order, as the real one does
    columns = dict(sorted(columns.items()))
    _write_matrix(d / DATA_FILE, seqs, in_set_a, columns)
    _write_metadata(d / METADATA_FILE, experiments)
    np.save(d / EXPECTED_FILE, mu.astype(np.float32))
    # the oracle must see the values as written to text (4 decimals)
    written = np.round(columns[RBFOX1[1]].astype(np.float64), 4).astype(np.float32)
    return {"experiments": [{"protein": p, "experiment": e, "kmer": k} for p, e, k in experiments],
            "oracle_spearman": oracle_spearman(mu, written, in_set_a, seed=0),
            "note": "synthetic RNAcompete data; oracle_spearman correlates the true expected RBFOX1 "
                    "intensity with the processed targets (split seed 0): no model can do better"}
