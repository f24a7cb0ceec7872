"""Synthetic binding-site CSV in the real `,seq,bind` format, with known planted signals.

Model (per 101-nt sequence, balanced classes):
  * bases i.i.d. from a GC-rich background (like the real file, 59 % GC);
  * positives carry a strong E-box site CACGTG (1 or 2 copies) with probability
    `strong_rate`, else a weaker variant (CATGTG or its reverse complement CACATG) with
    probability `weak_rate`, else nothing: those positives look like negatives, so no
    classifier can be perfect;
  * negatives carry decoys: CACGTG with probability `strong_decoy_rate`, a variant with
    probability `weak_decoy_rate`.
The rates mirror the real file (CACGTG in 45 % of positives and 2 % of negatives,
CATGTG/CACATG in about 19 % and 3 %). The manifest reports the AUROC of the rule that
knows the planted words (counts of CACGTG, then of the variants): a practical ceiling.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import manifest
from ..motifs import sample_background
from .dna_binding import FILE_NAME, REAL_ROWS, SEQ_LEN

FORMAT_VERSION = 2
ALPHABET = np.array(list("ACGT"))


@dataclass(frozen=True)
class BindingGenerator:
    """Parameters of the synthetic binding-site model (all of them are written to the manifest)."""
    n_rows: int = REAL_ROWS
    background: tuple = (0.205, 0.295, 0.295, 0.205)
    strong_site: str = "CACGTG"
    weak_sites: tuple = ("CATGTG", "CACATG")
    strong_rate: float = 0.45
    weak_rate: float = 0.35       # of the positives without a strong site
    strong_decoy_rate: float = 0.02
    weak_decoy_rate: float = 0.03

    def sample(self, rng: np.random.Generator) -> tuple[list[str], np.ndarray]:
        """(sequences, labels 0/1) with exactly half positives, shuffled."""
        n = self.n_rows
        y = np.zeros(n, np.int64)
        y[rng.permutation(n)[: n // 2]] = 1
        seqs = ALPHABET[sample_background(rng, (n, SEQ_LEN), self.background)]
        u = rng.random(n)
        strong = np.where(y == 1, u < self.strong_rate, u < self.strong_decoy_rate)
        weak_rate = np.where(y == 1, self.weak_rate, self.weak_decoy_rate)
        weak = ~strong & (rng.random(n) < weak_rate)
        copies = np.where(strong & (y == 1), rng.integers(1, 3, n), 1)
        for row in np.flatnonzero(strong | weak):  # a minority of rows: a loop is clear and fast enough
            words = [self.strong_site] * copies[row] if strong[row] else [rng.choice(self.weak_sites)]
            for word in words:
                start = rng.integers(0, SEQ_LEN - len(word) + 1)
                seqs[row, start:start + len(word)] = list(word)
        return ["".join(s) for s in seqs], y

    def oracle_scores(self, seqs: list[str]) -> np.ndarray:
        """Score knowing the planted words: strong-site count first, then weak-site count."""
        s = pd.Series(seqs)
        strong = s.str.count(self.strong_site).to_numpy()
        weak = sum(s.str.count(w).to_numpy() for w in self.weak_sites)
        return 10.0 * strong + weak


def write_synthetic(data_dir, seed: int = 0, generator: BindingGenerator | None = None,
                    force: bool = False) -> dict:
    """Write `data_dir`/dna_binding.csv (the real file's format) and its manifest; return the manifest.

    Cached: nothing is written if the file exists from the same parameters and seed.
    A folder holding files course_lib did not write is refused (manifest.ForeignFilesError).
    """
    gen = generator or BindingGenerator()
    params = manifest.params_of(format_version=FORMAT_VERSION, seed=seed, generator=gen)
    return manifest.write_once(data_dir, params, lambda d: _write_csv(d / FILE_NAME, gen, seed), force)


def _write_csv(path: Path, gen: BindingGenerator, seed: int) -> dict:
    from sklearn.metrics import roc_auc_score

    # a stream of its own: default_rng(seed) would repeat the permutation that split_indices draws
    seqs, y = gen.sample(np.random.default_rng(np.random.SeedSequence(seed).spawn(1)[0]))
    pd.DataFrame({"seq": seqs, "bind": y}).to_csv(path)  # index written as the unnamed first column
    return {"oracle_auroc": float(roc_auc_score(y, gen.oracle_scores(seqs))),
            "note": "synthetic binding-site data; oracle_auroc knows the planted words"}
