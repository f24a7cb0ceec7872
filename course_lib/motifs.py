"""Motifs: JASPAR parsing, sampling sites from a PWM, planting them, scanning, and motif-free resamples.

The package ships the two count matrices the course plants (JUND MA0491.1 and
CTCF MA0139.1, JASPAR 2024) in `resources/motifs.jaspar`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

_RESOURCES = Path(__file__).parent / "resources"
_ROW = re.compile(r"^\s*([ACGT])\s*\[([^\]]*)\]\s*$")


@dataclass(frozen=True)
class Motif:
    """A JASPAR count matrix; `counts` has shape (length, 4) in A C G T order."""
    id: str
    name: str
    counts: np.ndarray

    def __len__(self) -> int:
        return self.counts.shape[0]

    def pwm(self, pseudocount: float = 0.5) -> np.ndarray:
        """(length, 4) base probabilities with a pseudocount per cell."""
        c = self.counts + pseudocount
        return c / c.sum(1, keepdims=True)

    def consensus(self) -> str:
        return "".join("ACGT"[i] for i in self.counts.argmax(1))


def parse_jaspar(text: str, source: str = "<text>") -> dict[str, Motif]:
    """Parse JASPAR-format text (a '>ID NAME' header then A/C/G/T rows) into {id: Motif}."""
    motifs: dict[str, Motif] = {}
    header, rows = None, {}

    def flush():
        if header is None:
            return
        if set(rows) != set("ACGT"):
            raise ValueError(f"{source}: motif {header[0]} lacks rows {sorted(set('ACGT') - set(rows))}")
        lengths = {len(v) for v in rows.values()}
        if len(lengths) != 1:
            raise ValueError(f"{source}: motif {header[0]} has rows of different lengths {sorted(lengths)}")
        counts = np.array([rows[b] for b in "ACGT"], dtype=np.float64).T
        motifs[header[0]] = Motif(header[0], header[1], counts)

    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        if line.startswith(">"):
            flush()
            parts = line[1:].split()
            if not parts:
                raise ValueError(f"{source}:{lineno}: empty motif header")
            header, rows = (parts[0], parts[1] if len(parts) > 1 else parts[0]), {}
            continue
        m = _ROW.match(line)
        if m is None or header is None:
            raise ValueError(f"{source}:{lineno}: expected 'A [ counts ]', got {line.strip()[:40]!r}")
        rows[m.group(1)] = [float(v) for v in m.group(2).split()]
    flush()
    return motifs


def read_jaspar(path) -> dict[str, Motif]:
    """Read a JASPAR-format file into {id: Motif}."""
    path = Path(path)
    return parse_jaspar(path.read_text(), source=str(path))


@lru_cache(maxsize=None)
def load_motif(motif_id: str) -> Motif:
    """One of the motifs shipped with the package, e.g. 'MA0491.1' (JUND) or 'MA0139.1' (CTCF)."""
    motifs = read_jaspar(_RESOURCES / "motifs.jaspar")
    if motif_id not in motifs:
        raise KeyError(f"motif {motif_id!r} is not shipped; available: {sorted(motifs)}")
    return motifs[motif_id]


def reverse_complement_pwm(pwm: np.ndarray) -> np.ndarray:
    """The PWM of the opposite strand (rows reversed, A<->T and C<->G swapped)."""
    return pwm[::-1, ::-1].copy()


def sample_background(rng: np.random.Generator, shape, probs=(0.25, 0.25, 0.25, 0.25)) -> np.ndarray:
    """i.i.d. bases as int8 indices (0..3) with the given base probabilities."""
    cdf = np.cumsum(probs)
    cdf[-1] = 1.0
    return np.searchsorted(cdf, rng.random(shape), side="right").astype(np.int8)


def sample_sites(rng: np.random.Generator, pwm: np.ndarray, n: int) -> np.ndarray:
    """(n, L) int8 base indices, each column drawn from the PWM's row."""
    cdf = np.cumsum(pwm, axis=1)
    cdf[:, -1] = 1.0
    u = rng.random((n, pwm.shape[0]))
    return (u[..., None] > cdf[None]).sum(-1).astype(np.int8)


def plant_sites(rng: np.random.Generator, seqs: np.ndarray, rows: np.ndarray, pwm: np.ndarray,
                both_strands: bool = True) -> np.ndarray:
    """Overwrite one PWM site at a uniform position (and strand) in each of `seqs[rows]`.

    Returns the start positions. `seqs` is an (N, L) int8 index array, changed in place.
    """
    rows = np.asarray(rows)
    k, length = pwm.shape[0], seqs.shape[1]
    starts = rng.integers(0, length - k + 1, size=rows.size)
    sites = sample_sites(rng, pwm, rows.size)
    if both_strands:
        flip = rng.random(rows.size) < 0.5
        sites[flip] = 3 - sites[flip, ::-1]
    cols = starts[:, None] + np.arange(k)[None]
    seqs[rows[:, None], cols] = sites
    return starts


def site_log_odds(seqs: np.ndarray, pwm: np.ndarray, background=(0.25, 0.25, 0.25, 0.25)) -> np.ndarray:
    """Log-odds (PWM vs background) of every window of every sequence, one strand.

    `seqs` is (N, L) int8 with -1 for unknown bases, which contribute 0 (they are
    equally likely under both models). Returns (N, L - k + 1) float32.
    """
    k = pwm.shape[0]
    table = np.log(pwm / np.asarray(background)[None]).astype(np.float32)
    table = np.concatenate([table, np.zeros((k, 1), np.float32)], axis=1)  # column 4: unknown
    idx = np.where(seqs < 0, 4, seqs).astype(np.intp)
    n_win = seqs.shape[1] - k + 1
    out = np.zeros((seqs.shape[0], n_win), np.float32)
    for j in range(k):
        out += table[j][idx[:, j:j + n_win]]
    return out


def reverse_complement(site: str) -> str:
    """The other strand of a DNA string read 5' to 3' (N stays N)."""
    return site.upper()[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


def place_consensus(motif: Motif, site: str, pseudocount: float = 0.5) -> dict:
    """Where a consensus string (`N` = any base), no longer than the motif, fits the motif best.

    Returns {"same strand": (bits, start), "other strand": (bits, start)}: the best log-odds score in
    bits (motif vs uniform background) of `site` itself and of its reverse complement, read along the
    motif as drawn, and the 0-based motif position where each starts. The higher score says on which
    strand of the logo the consensus is written.
    """
    k, n = len(motif), len(site)
    if n > k or not set(site.upper()) <= set("ACGTN"):
        raise ValueError(f"expected a string of A C G T N of at most {k} letters, got {site!r}")
    out = {}
    for strand, s in (("same strand", site.upper()), ("other strand", reverse_complement(site))):
        padded = np.array([[-1] * (k - n) + ["ACGT".find(b) if b != "N" else -1 for b in s] + [-1] * (k - n)])
        scores = site_log_odds(padded.astype(np.int8), motif.pwm(pseudocount))[0] / np.log(2)
        best = int(scores.argmax())           # window w puts the site at motif position k - n - w
        out[strand] = (float(scores[best]), k - n - best)
    return out


def log_mean_site_ratio(seqs: np.ndarray, pwm: np.ndarray, background, both_strands: bool = True) -> np.ndarray:
    """log P(seq | one site at a uniform position/strand) - log P(seq | background), per sequence."""
    scores = [site_log_odds(seqs, pwm, background)]
    if both_strands:
        scores.append(site_log_odds(seqs, reverse_complement_pwm(pwm), background))
    s = np.concatenate(scores, axis=1).astype(np.float64)
    m = s.max(1, keepdims=True)
    return (m + np.log(np.exp(s - m).mean(1, keepdims=True)))[:, 0]


def markov_resample(seqs, rng: np.random.Generator) -> np.ndarray:
    """New sequences drawn from each row's own first-order Markov chain: (N, L) base indices -> (N, L).

    Row i keeps its first base; every next base follows the previous one with row i's
    dinucleotide frequencies, P(b | a) = count(ab) / count(a followed by any base). Letter and
    dinucleotide composition therefore match each row's on average (not exactly, as a
    dinucleotide shuffle would), while the order, and with it any planted site, is lost.
    A letter seen only at the end of its row is followed by a base drawn from the row's letter
    frequencies. Vectorised over the rows; the result has the input's dtype.
    """
    seqs = np.asarray(seqs)
    if seqs.ndim != 2 or not np.issubdtype(seqs.dtype, np.integer) or (seqs.size and (seqs.min() < 0 or seqs.max() > 3)):
        raise ValueError(f"markov_resample expects an (N, L) integer array of base indices 0..3, got shape "
                         f"{seqs.shape} of {seqs.dtype}")
    n, length = seqs.shape
    out = seqs.copy()
    if length < 2:
        return out
    codes = seqs.astype(np.int64)
    rows = np.arange(n)
    pairs = np.bincount((rows[:, None] * 16 + codes[:, :-1] * 4 + codes[:, 1:]).ravel(),
                        minlength=n * 16).reshape(n, 4, 4).astype(np.float64)
    letters = np.bincount((rows[:, None] * 4 + codes).ravel(), minlength=n * 4).reshape(n, 1, 4) / length
    outgoing = pairs.sum(-1, keepdims=True)
    cdf = np.cumsum(np.where(outgoing > 0, pairs / np.maximum(outgoing, 1), letters), axis=-1)
    cdf[..., -1] = 1.0
    u = rng.random((n, length - 1))
    for t in range(1, length):       # one step per position, every row at once
        out[:, t] = (u[:, t - 1, None] > cdf[rows, out[:, t - 1]]).sum(-1)
    return out
