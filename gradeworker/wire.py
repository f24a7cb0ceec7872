"""Frames and values between the judge and the worker: JSON plus safetensors, nothing else.

A frame is two lengths, a JSON header and a safetensors blob. Values are encoded as a JSON
tree in which tensors and arrays are references into the blob. Neither side ever unpickles,
imports or evaluates what it receives: JSON and safetensors can carry numbers and text only.
Every size is bounded (`Limits`), and decoding checks every tag, dtype and device name it meets,
so a hostile worker can only send wrong answers, never code.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import torch

_PREFIX = struct.Struct("!QQ")

DTYPES = {name: getattr(torch, name) for name in (
    "bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64")}
NUMPY_DTYPES = {"bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64"}
DEVICES = ("cpu", "cuda", "meta")


class WireError(ValueError):
    """A frame or value that breaks the protocol or its limits."""


@dataclass(frozen=True)
class Limits:
    header_bytes: int = 16 << 20
    blob_bytes: int = 512 << 20
    string_chars: int = 1_000_000
    items: int = 1_000_000        # list/tuple/dict entries in one value, all levels together
    depth: int = 24
    type_name_chars: int = 120


LIMITS = Limits()


@dataclass(frozen=True)
class Opaque:
    """A value the worker could not send as data: only its (capped) type name crosses."""
    type_name: str

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


# ---------------------------------------------------------------------------------- frames
PREFIX_BYTES = _PREFIX.size


def pack_frame(tree: Any, tensors: dict | None = None) -> bytes:
    header = json.dumps(tree, allow_nan=False, separators=(",", ":")).encode()
    blob = _save_tensors(tensors or {})
    return _PREFIX.pack(len(header), len(blob)) + header + blob


def frame_sizes(prefix: bytes, limits: Limits = LIMITS) -> tuple:
    """(header bytes, blob bytes) announced by a frame prefix; WireError beyond the limits."""
    n_header, n_blob = _PREFIX.unpack(prefix)
    if n_header > limits.header_bytes or n_blob > limits.blob_bytes:
        raise WireError(f"frame too large ({n_header} + {n_blob} bytes)")
    return n_header, n_blob


def parse_frame(header: bytes, blob: bytes) -> tuple:
    try:
        tree = json.loads(header)
    except (ValueError, RecursionError):
        raise WireError("frame header is not valid JSON") from None
    return tree, _load_tensors(blob)


def write_frame(stream, tree: Any, tensors: dict | None = None) -> None:
    stream.write(pack_frame(tree, tensors))
    stream.flush()


def read_frame(stream, limits: Limits = LIMITS) -> tuple:
    """(tree, tensors) of the next frame; EOFError at the end of the stream, WireError if malformed."""
    n_header, n_blob = frame_sizes(_read_exact(stream, PREFIX_BYTES), limits)
    return parse_frame(_read_exact(stream, n_header), _read_exact(stream, n_blob))


def _read_exact(stream, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise EOFError("the other side closed the channel")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _save_tensors(tensors: dict) -> bytes:
    if not tensors:
        return b""
    from safetensors.torch import save
    return save(tensors)


def _load_tensors(blob: bytes) -> dict:
    if not blob:
        return {}
    from safetensors.torch import load
    try:
        return load(blob)
    except Exception as exc:  # safetensors raises its own error type for malformed data
        raise WireError(f"tensor blob is not valid safetensors ({type(exc).__name__})") from None


# ---------------------------------------------------------------------------------- encoding
class Encoder:
    """Turns a value into a JSON tree plus named tensors.

    `special(value)` may return a tree for values it knows (handles, recipes); anything else
    that is not plain data becomes an opaque type name, or a `WireError` if `strict`.
    """

    def __init__(self, special: Callable[[Any], Any] | None = None, limits: Limits = LIMITS,
                 strict: bool = False):
        self.special, self.limits, self.strict = special, limits, strict
        self.tensors: dict = {}
        self.items = 0

    def __call__(self, value, depth: int = 0):
        if depth > self.limits.depth:
            raise WireError("value nested too deeply")
        if self.special is not None:
            tree = self.special(value)
            if tree is not None:
                return tree
        if value is None or isinstance(value, bool):
            return value
        if isinstance(value, int) and not isinstance(value, np.generic):
            return int(value) if abs(int(value)) < 2**63 else {"t": "float", "v": float(value)}
        if isinstance(value, float):
            return _float(float(value))
        if isinstance(value, str):
            text = str.__str__(value)
            if len(text) > self.limits.string_chars:
                raise WireError(f"a string of {len(text):,} characters is longer than allowed")
            return text
        if isinstance(value, torch.Tensor):
            return self._tensor(value, "tensor")
        if isinstance(value, np.ndarray):
            if value.dtype.name not in NUMPY_DTYPES:
                return self._opaque(value, f"numpy.ndarray[{value.dtype.name}]")
            return self._tensor(torch.from_numpy(np.ascontiguousarray(value)), "ndarray",
                                numpy_dtype=value.dtype.name)
        if isinstance(value, np.generic):
            if value.dtype.name not in NUMPY_DTYPES:
                return self._opaque(value)
            v = value.item()
            return {"t": "np", "dtype": value.dtype.name, "v": _float(v) if isinstance(v, float) else v}
        if isinstance(value, (list, tuple)):
            self._count(len(value))
            items = [self(v, depth + 1) for v in value]
            return {"t": "tuple", "v": items} if isinstance(value, tuple) else items
        if isinstance(value, dict):
            self._count(len(value))
            return {"t": "dict", "v": [[self(k, depth + 1), self(v, depth + 1)] for k, v in value.items()]}
        return self._opaque(value)

    def _count(self, n: int) -> None:
        self.items += n
        if self.items > self.limits.items:
            raise WireError("value has too many items")

    def _opaque(self, value, name: str | None = None):
        if self.strict:
            raise WireError(f"cannot send a {type(value).__name__}")
        return {"t": "object", "type": name or type_name(value, self.limits.type_name_chars)}

    def _tensor(self, t: torch.Tensor, tag: str, numpy_dtype: str | None = None):
        dtype = str(t.dtype).removeprefix("torch.")
        device = t.device.type
        if t.layout != torch.strided or t.is_quantized or dtype not in DTYPES:
            return self._opaque(t, f"torch.Tensor[{dtype}, {t.layout}]")
        tree = {"t": tag, "dtype": numpy_dtype or dtype, "shape": list(t.shape),
                "device": device if device in DEVICES else "cpu",
                "requires_grad": bool(getattr(t, "requires_grad", False))}
        if device != "meta":
            key = str(len(self.tensors))
            self.tensors[key] = torch.Tensor.detach(t).to("cpu").contiguous().clone()
            tree["k"] = key
        return tree


def type_name(value, limit: int = LIMITS.type_name_chars) -> str:
    """`module.QualName` of a value's type, capped (names are the student's text, nothing more)."""
    cls = type(value)
    name = f"{getattr(cls, '__module__', '?')}.{getattr(cls, '__qualname__', '?')}"
    name = str.__str__(name) if isinstance(name, str) else "?"
    return name if len(name) <= limit else name[:limit] + "…"


def _float(v: float):
    if math.isfinite(v):
        return v
    return {"t": "float", "v": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}


def encode(value, special=None, strict: bool = False, limits: Limits = LIMITS) -> tuple:
    """(tree, tensors) for `value`."""
    enc = Encoder(special, limits, strict)
    return enc(value), enc.tensors


# ---------------------------------------------------------------------------------- decoding
class Decoder:
    """Rebuilds values from a tree and its tensors; `special(tree, decode)` handles extra tags."""

    def __init__(self, tensors: dict, special: Callable[[dict], Any] | None = None, limits: Limits = LIMITS,
                 cuda: bool | None = None):
        self.tensors, self.special, self.limits = tensors, special, limits
        self.cuda = torch.cuda.is_available() if cuda is None else cuda
        self.items = 0

    def __call__(self, tree, depth: int = 0):
        if depth > self.limits.depth:
            raise WireError("value nested too deeply")
        if tree is None or isinstance(tree, (bool, int, float)):
            return tree
        if isinstance(tree, str):
            if len(tree) > self.limits.string_chars:
                raise WireError("string too long")
            return tree
        if isinstance(tree, list):
            self._count(len(tree))
            return [self(v, depth + 1) for v in tree]
        if not isinstance(tree, dict):
            raise WireError("unexpected JSON value")
        tag = tree.get("t")
        if tag == "tuple":
            items = _list(tree.get("v"))
            self._count(len(items))
            return tuple(self(v, depth + 1) for v in items)
        if tag == "dict":
            pairs = _list(tree.get("v"))
            self._count(len(pairs))
            out = {}
            for pair in pairs:
                if not (isinstance(pair, list) and len(pair) == 2):
                    raise WireError("malformed dict entry")
                key = self(pair[0], depth + 1)
                try:
                    out[key] = self(pair[1], depth + 1)
                except TypeError:
                    raise WireError("unhashable dict key") from None
            return out
        if tag == "float":
            v = tree.get("v")
            if v in ("nan", "inf", "-inf"):
                return float(v)
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return float(v)
            raise WireError("malformed float")
        if tag == "np":
            dtype = tree.get("dtype")
            if dtype not in NUMPY_DTYPES:
                raise WireError("unknown numpy dtype")
            v = self({"t": "float", "v": tree["v"]} if isinstance(tree.get("v"), dict) else tree.get("v"), depth + 1)
            if not isinstance(v, (bool, int, float)):
                raise WireError("malformed numpy scalar")
            try:
                return np.dtype(dtype).type(v)
            except (OverflowError, ValueError):
                raise WireError("numpy scalar out of range") from None
        if tag in ("tensor", "ndarray"):
            return self._tensor(tree, tag)
        if tag == "object":
            name = tree.get("type")
            if not isinstance(name, str):
                raise WireError("malformed object")
            return Opaque(name[: self.limits.type_name_chars + 1])
        if self.special is not None:
            return self.special(tree, lambda sub: self(sub, depth + 1))
        raise WireError(f"unknown tag {str(tag)[:20]!r}")

    def _count(self, n: int) -> None:
        self.items += n
        if self.items > self.limits.items:
            raise WireError("value has too many items")

    def _tensor(self, tree: dict, tag: str):
        dtype, shape, device = tree.get("dtype"), tree.get("shape"), tree.get("device")
        if device not in DEVICES or not isinstance(shape, list) or \
                not all(isinstance(s, int) and not isinstance(s, bool) and 0 <= s < 2**40 for s in shape):
            raise WireError("malformed tensor")
        if tag == "tensor" and dtype not in DTYPES or tag == "ndarray" and dtype not in NUMPY_DTYPES:
            raise WireError("unknown dtype")
        if device == "meta":
            if tag != "tensor":
                raise WireError("meta arrays do not exist")
            return torch.empty(shape, dtype=DTYPES[dtype], device="meta")
        data = self.tensors.get(tree.get("k")) if isinstance(tree.get("k"), str) else None
        if data is None or list(data.shape) != shape:
            raise WireError("tensor data missing or of the wrong shape")
        if tag == "ndarray":
            if str(data.dtype).removeprefix("torch.") != dtype:
                raise WireError("array dtype mismatch")
            return data.numpy()
        if str(data.dtype).removeprefix("torch.") != dtype:
            raise WireError("tensor dtype mismatch")
        if device == "cuda" and self.cuda:
            data = data.to("cuda")
        if tree.get("requires_grad") is True and (data.is_floating_point() or data.is_complex()):
            data = data.requires_grad_(True)
        return data


def _list(v) -> list:
    if not isinstance(v, list):
        raise WireError("malformed container")
    return v


def decode(tree, tensors: dict, special=None, limits: Limits = LIMITS, cuda: bool | None = None):
    return Decoder(tensors, special, limits, cuda)(tree)
