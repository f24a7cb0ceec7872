"""A two-state hidden Markov model over DNA: sampling, the TSV format, and exact decoding.

The model (the course's default, `COURSE_HMM`):

    hidden states  H (GC-rich) and L (AT-rich), started from the stationary distribution (1/2, 1/2)
    transitions    P(stay) = 0.95 in both states (mean run length 20 bp)
    emissions      H: A 0.15  C 0.35  G 0.35  T 0.15
                   L: A 0.35  C 0.15  G 0.15  T 0.35

One base on its own says little (guessing the state from each base alone is right
70 % of the time), but runs of bases say much more: the posterior decoder, the best
any tagger can do, is right about 85 % of the time on sequences of 500 bp. The gap
between the two is what a sequence model has to learn from context.

Decoders (all in log space, vectorised over a batch of sequences; the loop runs over
positions only). Each takes base indices of shape (N, L) and returns state indices (N, L):

    per_base_decode   the most likely state of each base on its own (no context)
    filter_decode     argmax P(state_t | bases up to t): forward algorithm only (causal)
    viterbi_decode    the single most likely state path
    posterior_decode  argmax P(state_t | all bases): forward-backward

Sequences are stored as a TSV with the columns `dna` (letters ACGT) and
`hidden_state` (letters H and L), one sequence per row (`write_tsv`, `read_tsv`).
`alignment_text` lays out a true state string over a predicted one.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .encoding import DNA, to_indices

STATES = "HL"
TSV_COLUMNS = ("dna", "hidden_state")


@dataclass(frozen=True)
class HMMParams:
    """Start (S,), transition (S, S) (rows: from, columns: to) and emission (S, 4) probabilities."""
    start: tuple
    transition: tuple
    emission: tuple

    def __post_init__(self):
        start, trans, emit = self.arrays()
        if start.ndim != 1 or trans.shape != (start.size, start.size) or emit.shape != (start.size, len(DNA)):
            raise ValueError(f"HMMParams: shapes start {start.shape}, transition {trans.shape}, "
                             f"emission {emit.shape}; expected (S,), (S, S), (S, {len(DNA)})")
        for name, arr in (("start", start), ("transition", trans), ("emission", emit)):
            if (arr < 0).any() or not np.allclose(arr.sum(-1), 1.0):
                raise ValueError(f"HMMParams: {name} probabilities must be non-negative and sum to 1 "
                                 f"(over the last axis)")

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(start, transition, emission) as float64 arrays."""
        return (np.asarray(self.start, np.float64), np.asarray(self.transition, np.float64),
                np.asarray(self.emission, np.float64))

    def logs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(log start, log transition, log emission); zeros become -inf."""
        with np.errstate(divide="ignore"):
            return tuple(np.log(a) for a in self.arrays())


def symmetric_hmm(stay: float, gc_rich: float) -> HMMParams:
    """H/L model with P(stay) = `stay` in both states; H emits C and G with probability `gc_rich` each.

    L mirrors H (A and T with probability `gc_rich` each), so both states are equally
    common and the chain starts from (1/2, 1/2).
    """
    if not (0 < stay < 1 and 0 < gc_rich < 0.5):
        raise ValueError(f"need 0 < stay < 1 and 0 < gc_rich < 0.5, got stay={stay}, gc_rich={gc_rich}")
    at = 0.5 - gc_rich
    return HMMParams(start=(0.5, 0.5),
                     transition=((stay, 1 - stay), (1 - stay, stay)),
                     emission=((at, gc_rich, gc_rich, at), (gc_rich, at, at, gc_rich)))


COURSE_HMM = symmetric_hmm(stay=0.95, gc_rich=0.35)
SEQ_LEN = 500


# ---------------------------------------------------------------- sampling
def _draw(rng: np.random.Generator, probs: np.ndarray) -> np.ndarray:
    """One categorical draw per row of `probs` (..., K) -> (...) int8."""
    cdf = np.cumsum(probs, axis=-1)
    cdf[..., -1] = 1.0
    u = rng.random(probs.shape[:-1])
    return (u[..., None] >= cdf).sum(-1).astype(np.int8)


def sample(n: int, length: int = SEQ_LEN, params: HMMParams = COURSE_HMM,
           rng: np.random.Generator | int | None = 0) -> tuple[np.ndarray, np.ndarray]:
    """`n` sequences of `length` bases: (bases (n, length) int8 in 0..3, states (n, length) int8)."""
    rng = np.random.default_rng(rng)
    start, trans, emit = params.arrays()
    states = np.empty((n, length), np.int8)
    if length:
        states[:, 0] = _draw(rng, np.broadcast_to(start, (n, start.size)))
    for t in range(1, length):  # Markov chain: one step per position, all sequences at once
        states[:, t] = _draw(rng, trans[states[:, t - 1]])
    bases = _draw(rng, emit[states])
    return bases, states


# ---------------------------------------------------------------- strings and the TSV format
def indices_to_strings(idx: np.ndarray, alphabet: str) -> list[str]:
    """(N, L) indices -> N strings over `alphabet`."""
    letters = np.frombuffer(alphabet.encode("ascii"), np.uint8)
    idx = np.asarray(idx)
    return [row.tobytes().decode("ascii") for row in letters[idx]]


def strings_to_indices(seqs, alphabet: str, what: str = "sequence") -> np.ndarray:
    """Equal-length strings -> (N, L) int8 indices; a bad letter or a length mismatch raises ValueError."""
    seqs = list(seqs)
    if not seqs:
        return np.zeros((0, 0), np.int8)
    lengths = {len(s) for s in seqs}
    if len(lengths) != 1:
        raise ValueError(f"{what}s have different lengths {sorted(lengths)[:5]}: expected equal lengths")
    rows = []
    for i, s in enumerate(seqs):
        try:
            rows.append(to_indices(s, alphabet, unknown=""))
        except ValueError as exc:
            raise ValueError(f"{what} {i}: {exc}") from None
    return np.stack(rows)


def write_tsv(path, bases: np.ndarray, states: np.ndarray) -> Path:
    """Write sequences to a TSV with the header `dna<TAB>hidden_state`; returns the path."""
    bases, states = np.asarray(bases), np.asarray(states)
    if bases.shape != states.shape:
        raise ValueError(f"bases {bases.shape} and states {states.shape} must have the same shape")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh, delimiter="\t", lineterminator="\n")
        writer.writerow(TSV_COLUMNS)
        writer.writerows(zip(indices_to_strings(bases, DNA), indices_to_strings(states, STATES)))
    return path


def read_tsv(path) -> tuple[list[str], list[str]]:
    """(dna strings, hidden-state strings) from a TSV written by `write_tsv`.

    Raises ValueError naming the file and the row for missing columns, letters other
    than ACGT / HL, or a state string whose length differs from its DNA.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such HMM sequence file")
    with open(path, newline="") as fh:
        reader = csv.DictReader(fh, delimiter="\t")
        missing = [c for c in TSV_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; found {reader.fieldnames}, "
                             f"expected a tab-separated header {'/'.join(TSV_COLUMNS)}")
        dna, hidden = [], []
        for row_no, row in enumerate(reader, start=2):
            seq, st = (row["dna"] or "").strip().upper(), (row["hidden_state"] or "").strip().upper()
            for text, alphabet, column in ((seq, DNA, "dna"), (st, STATES, "hidden_state")):
                bad = set(text) - set(alphabet)
                if bad:
                    raise ValueError(f"{path}, line {row_no}: column {column} has letter(s) {sorted(bad)}; "
                                     f"expected only {alphabet}")
            if len(seq) != len(st):
                raise ValueError(f"{path}, line {row_no}: dna has {len(seq)} letters but hidden_state has "
                                 f"{len(st)}; they must be equally long")
            dna.append(seq)
            hidden.append(st)
    return dna, hidden


# ---------------------------------------------------------------- display
def alignment_text(truth: str, prediction: str, width: int = 80) -> str:
    """Truth over prediction in blocks of `width`, with '|' where they agree and the position on the left."""
    if len(truth) != len(prediction):
        raise ValueError(f"truth has {len(truth)} letters, prediction {len(prediction)}")
    lines = []
    for start in range(0, len(truth), width):
        t, p = truth[start:start + width], prediction[start:start + width]
        bars = "".join("|" if x == y else " " for x, y in zip(t, p))
        lines += [f"{start:>5} truth {t}", f"{'':>5}       {bars}", f"{'':>5} pred  {p}", ""]
    return "\n".join(lines).rstrip("\n")


# ---------------------------------------------------------------- exact decoding
def logsumexp(a: np.ndarray, axis: int = -1, keepdims: bool = False) -> np.ndarray:
    """log(sum(exp(a))) along `axis`, stably (a lean version of scipy's, called once per position)."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    out = np.log(np.sum(np.exp(a - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _as_batch(bases) -> np.ndarray:
    x = np.asarray(bases)
    if x.ndim == 1:
        x = x[None]
    if x.ndim != 2:
        raise ValueError(f"bases must have shape (N, L) or (L,), got {x.shape}")
    if x.size and (x.min() < 0 or x.max() >= len(DNA)):
        raise ValueError(f"bases must be indices 0..{len(DNA) - 1}")
    return x.astype(np.int64)


def forward_log(bases, params: HMMParams = COURSE_HMM) -> np.ndarray:
    """log P(bases[:t+1], state_t = s) for every t and s: (N, L, S)."""
    x = _as_batch(bases)
    log_start, log_trans, log_emit = params.logs()
    n, length = x.shape
    alpha = np.empty((n, length, log_start.size))
    if length == 0:
        return alpha
    alpha[:, 0] = log_start + log_emit[:, x[:, 0]].T
    for t in range(1, length):
        alpha[:, t] = logsumexp(alpha[:, t - 1, :, None] + log_trans, axis=1) + log_emit[:, x[:, t]].T
    return alpha


def backward_log(bases, params: HMMParams = COURSE_HMM) -> np.ndarray:
    """log P(bases[t+1:] | state_t = s) for every t and s: (N, L, S)."""
    x = _as_batch(bases)
    _, log_trans, log_emit = params.logs()
    n, length = x.shape
    beta = np.zeros((n, length, log_trans.shape[0]))
    for t in range(length - 2, -1, -1):
        beta[:, t] = logsumexp(log_trans + (log_emit[:, x[:, t + 1]].T + beta[:, t + 1])[:, None, :], axis=2)
    return beta


def log_likelihood(bases, params: HMMParams = COURSE_HMM) -> np.ndarray:
    """log P(bases) of each sequence: (N,)."""
    return logsumexp(forward_log(bases, params)[:, -1], axis=-1)


def _normalise(log_scores: np.ndarray) -> np.ndarray:
    return np.exp(log_scores - logsumexp(log_scores, axis=-1, keepdims=True))


def posterior_probs(bases, params: HMMParams = COURSE_HMM) -> np.ndarray:
    """P(state_t = s | all bases) (forward-backward): (N, L, S)."""
    return _normalise(forward_log(bases, params) + backward_log(bases, params))


def filter_probs(bases, params: HMMParams = COURSE_HMM) -> np.ndarray:
    """P(state_t = s | bases up to t) (forward only, causal): (N, L, S)."""
    return _normalise(forward_log(bases, params))


def per_base_probs(bases, params: HMMParams = COURSE_HMM) -> np.ndarray:
    """P(state_t = s | base t alone), states weighted by the stationary distribution: (N, L, S)."""
    x = _as_batch(bases)
    _, trans, emit = params.arrays()
    stationary = stationary_distribution(trans)
    return _normalise(np.log(stationary + 1e-300) + np.log(emit[:, x].transpose(1, 2, 0) + 1e-300))


def stationary_distribution(transition: np.ndarray) -> np.ndarray:
    """The stationary distribution pi of a transition matrix (pi @ T = pi)."""
    values, vectors = np.linalg.eig(np.asarray(transition).T)
    pi = np.real(vectors[:, np.argmin(np.abs(values - 1))])
    return pi / pi.sum()


def posterior_decode(bases, params: HMMParams = COURSE_HMM) -> np.ndarray:
    """The most likely state at each position given the whole sequence: (N, L) int8."""
    return posterior_probs(bases, params).argmax(-1).astype(np.int8)


def filter_decode(bases, params: HMMParams = COURSE_HMM) -> np.ndarray:
    """The most likely state at each position given the bases up to it: (N, L) int8."""
    return filter_probs(bases, params).argmax(-1).astype(np.int8)


def per_base_decode(bases, params: HMMParams = COURSE_HMM) -> np.ndarray:
    """The most likely state of each base on its own: (N, L) int8."""
    return per_base_probs(bases, params).argmax(-1).astype(np.int8)


def viterbi_decode(bases, params: HMMParams = COURSE_HMM) -> np.ndarray:
    """The most likely state path of each sequence (Viterbi): (N, L) int8."""
    x = _as_batch(bases)
    log_start, log_trans, log_emit = params.logs()
    n, length = x.shape
    path = np.zeros((n, length), np.int8)
    if length == 0:
        return path
    back = np.zeros((n, length, log_start.size), np.int8)
    score = log_start + log_emit[:, x[:, 0]].T
    for t in range(1, length):
        cand = score[:, :, None] + log_trans          # (N, from, to)
        back[:, t] = cand.argmax(1)
        score = cand.max(1) + log_emit[:, x[:, t]].T
    path[:, -1] = score.argmax(-1)
    rows = np.arange(n)
    for t in range(length - 1, 0, -1):
        path[:, t - 1] = back[rows, t, path[:, t]]
    return path


DECODERS = {"per-base": per_base_decode, "forward-only": filter_decode,
            "Viterbi": viterbi_decode, "posterior": posterior_decode}


def decoder_accuracies(bases, states, params: HMMParams = COURSE_HMM) -> dict[str, float]:
    """Fraction of positions each exact decoder gets right on these sequences (the ceilings)."""
    states = np.asarray(states)
    return {name: float((decode(bases, params) == states).mean()) for name, decode in DECODERS.items()}
