"""Synthetic CTCF data in the Koo-style HDF5 layout, with the planted sites recorded.

Model (per sequence of 200 bp): bases i.i.d. from a background; then, in either order, one
CTCF site (JASPAR MA0139.1, uniform position, either strand, in a fraction `site_rate` of the
sequences) is planted and the sequence is resampled from its own first-order Markov chain
(`motifs.markov_resample`: the same letter and dinucleotide composition on average):

  * positives are resampled, then planted: the site stays whole;
  * negatives are planted, then resampled: the site's letters are scattered, so a negative
    is as GC- and CpG-rich as a positive and only the motif itself tells them apart.

Both classes go through one resampling, so neither has more composition noise than the
other. (DeepBind's ENCODE sets use exact dinucleotide shuffles of real peaks instead; writing
one is an exercise of the ctcf_saliency assignment, so the student build does not ship one.)
The file also holds `motif_pos_<split>` (start of the planted site, -1 where none), used
to check where a model's saliency points. The manifest beside it (`synthetic.json`) holds the
parameters and the AUROC of a PWM scan (the true motif's best log-odds per sequence) per split.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
from tqdm.auto import tqdm

from ..motifs import load_motif, markov_resample, plant_sites, reverse_complement_pwm, sample_background, site_log_odds
from . import manifest
from .ctcf import H5_NAME, SPLITS

FORMAT_VERSION = 2     # 2: both classes Markov-resampled (1: negatives were dinucleotide shuffles)
SEQ_LEN = 200


@dataclass(frozen=True)
class CTCFGenerator:
    """Parameters of the synthetic CTCF model (all of them are stored in the file)."""
    sizes: dict = field(default_factory=lambda: {"train": 16000, "valid": 2000, "test": 4000})
    seq_len: int = SEQ_LEN
    positive_fraction: float = 0.5
    motif_id: str = "MA0139.1"
    background: tuple = (0.29, 0.21, 0.21, 0.29)
    site_rate: float = 0.9

    def pwm(self) -> np.ndarray:
        return load_motif(self.motif_id).pwm()

    def sample(self, n: int, rng: np.random.Generator, shuffle=None):
        """(seq indices (n, L) int8, y (n,), motif_pos (n,)) for one split; motif_pos is -1 where no site.

        `shuffle(row, rng)`, an exact dinucleotide shuffle of one row of base indices, makes the
        negatives shuffles of site carriers and leaves the positives as drawn instead (format
        version 1's data; the hidden checks pass the reference solution's shuffle).
        """
        y = np.zeros(n, np.int8)
        y[rng.choice(n, int(round(n * self.positive_fraction)), replace=False)] = 1
        seqs = sample_background(rng, (n, self.seq_len), self.background)
        positives, negatives = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
        if shuffle is None:
            seqs[positives] = markov_resample(seqs[positives], rng)  # positives: resampled, then planted
        with_site = np.flatnonzero(rng.random(n) < self.site_rate)
        pos = np.full(n, -1, np.int32)
        pos[with_site] = plant_sites(rng, seqs, with_site, self.pwm())
        if shuffle is None:
            seqs[negatives] = markov_resample(seqs[negatives], rng)  # negatives: planted, then resampled
        else:
            for row in negatives:
                seqs[row] = shuffle(seqs[row], rng)
        pos[negatives] = -1
        return seqs, y, pos

    def scan_scores(self, seqs: np.ndarray) -> np.ndarray:
        """Best log-odds of the true PWM over positions and strands, per sequence."""
        fwd = site_log_odds(seqs, self.pwm(), self.background)
        rev = site_log_odds(seqs, reverse_complement_pwm(self.pwm()), self.background)
        return np.maximum(fwd.max(1), rev.max(1))


def write_synthetic(data_dir, seed: int = 0, generator: CTCFGenerator | None = None, force: bool = False,
                    progress: bool = True) -> dict:
    """Write the three splits to `data_dir`/CTCF_200.h5 in Koo's layout; return the manifest.

    Cached: a file written with the same parameters and seed is left as it is.
    A folder holding files course_lib did not write is refused (manifest.ForeignFilesError).
    """
    gen = generator or CTCFGenerator()
    params = manifest.params_of(format_version=FORMAT_VERSION, seed=seed, generator=gen)
    return manifest.write_once(data_dir, params, lambda d: _write_h5(d / H5_NAME, gen, seed, progress), force)


def _write_h5(path: Path, gen: CTCFGenerator, seed: int, progress: bool) -> dict:
    from sklearn.metrics import roc_auc_score

    tmp = path.with_name(path.name + ".part")
    streams = np.random.SeedSequence(seed).spawn(len(SPLITS))
    scan_auroc = {}
    with h5py.File(tmp, "w") as fh:
        for split, stream in tqdm(list(zip(SPLITS, streams)), desc="synthetic CTCF splits", disable=not progress,
                                  leave=False):
            seqs, y, pos = gen.sample(gen.sizes[split], np.random.default_rng(stream))
            x = np.eye(4, dtype=np.float32)[seqs].transpose(0, 2, 1)  # (N, 4, L) as in Koo's files
            fh.create_dataset(f"x_{split}", data=x, compression="gzip", compression_opts=4,
                              chunks=(min(len(x), 512), 4, gen.seq_len))
            fh.create_dataset(f"y_{split}", data=y.reshape(-1, 1).astype(np.float32))
            fh.create_dataset(f"motif_pos_{split}", data=pos)
            scan_auroc[split] = float(roc_auc_score(y, gen.scan_scores(seqs)))
    os.replace(tmp, path)
    return {"pwm_scan_auroc": scan_auroc,
            "note": "synthetic CTCF data: every sequence is planted with an MA0139.1 site and resampled from its own "
                    "first-order Markov chain; positives are resampled first (the site stays whole, motif_pos_*), "
                    "negatives last (the site is scattered)"}
