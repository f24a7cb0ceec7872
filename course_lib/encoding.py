"""One-hot encoding of sequences and back."""
from __future__ import annotations

import numpy as np

DNA = "ACGT"
RNA = "ACGU"


def _lookup(alphabet: str, unknown: str) -> np.ndarray:
    table = np.full(256, -2, dtype=np.int8)  # -2: invalid letter
    for i, letter in enumerate(alphabet):
        table[ord(letter)] = i
        table[ord(letter.lower())] = i
    for letter in unknown:
        table[ord(letter)] = -1  # -1: unknown base (N)
        table[ord(letter.lower())] = -1
    return table


def to_indices(seq: str, alphabet: str = DNA, unknown: str = "N") -> np.ndarray:
    """Letters -> int8 indices into `alphabet`; letters in `unknown` become -1.

    Any other letter raises ValueError naming it and its position.
    """
    codes = np.frombuffer(seq.encode("ascii", errors="replace"), dtype=np.uint8)
    idx = _lookup(alphabet, unknown)[codes]
    bad = np.flatnonzero(idx == -2)
    if bad.size:
        pos = int(bad[0])
        raise ValueError(
            f"invalid letter {seq[pos]!r} at position {pos}: expected one of {alphabet}"
            + (f" or {unknown}" if unknown else "")
        )
    return idx


def indices_to_one_hot(idx: np.ndarray, n_letters: int = 4, unknown_value: float = 0.0,
                       dtype=np.float32) -> np.ndarray:
    """(..., L) int indices -> (..., L, n_letters); -1 becomes a row of `unknown_value`."""
    idx = np.asarray(idx)
    out = np.zeros(idx.shape + (n_letters,), dtype=dtype)
    known = idx >= 0
    out[known, idx[known]] = 1
    if unknown_value:
        out[~known] = unknown_value
    return out


def one_hot(seq: str, alphabet: str = DNA, unknown: str = "N", unknown_value: float = 0.0,
            dtype=np.float32) -> np.ndarray:
    """A sequence string -> (L, len(alphabet)) one-hot array; unknown letters -> `unknown_value` rows."""
    return indices_to_one_hot(to_indices(seq, alphabet, unknown), len(alphabet), unknown_value, dtype)


def one_hot_to_string(x: np.ndarray, alphabet: str = DNA, unknown: str = "N") -> str:
    """(L, 4) one-hot (or scores) -> string; all-zero or uniform rows become `unknown`."""
    x = np.asarray(x)
    letters = np.array(list(alphabet + unknown))
    best = x.argmax(-1)
    flat = np.isclose(x.max(-1), x.min(-1))
    best[flat] = len(alphabet)
    return "".join(letters[best])
