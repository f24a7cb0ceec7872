"""Recurrent layers on the 'meta' device in milliseconds instead of a second.

The device check runs a student's model on 'meta' (shapes only, no data) to catch hard-coded
devices on machines without a GPU. PyTorch has no meta kernel for its fused RNN ops, so an
LSTM, GRU or RNN there is traced step by step through Python reference ops: 0.7-1.2 s for one
LSTM over 101 positions. `fast_meta_rnns()` answers those ops from their shape rule instead,
and only when every tensor is on 'meta' and every shape and dtype fits, that is, only when the
real op would succeed with outputs of exactly those shapes. Anything else (another device, a
packed sequence, a mismatch) goes to the real op, which gives its own answer or its own error.
"""
from __future__ import annotations

import torch
from torch.overrides import TorchFunctionMode

GATES = {"lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


def _parts(name: str, args: tuple):
    """(input, [hidden states], [params], has_biases, num_layers, bidirectional, batch_first) of the
    padded-input overload, or None (the packed-sequence overload, or anything unexpected)."""
    if name == "lstm":
        if len(args) != 9 or not isinstance(args[1], (list, tuple)):
            return None
        x, hx, params, biases, layers, _, _, bidir, batch_first = args
        hx = list(hx)
    else:
        if len(args) != 9 or not torch.is_tensor(args[1]) or not isinstance(args[2], (list, tuple)):
            return None
        x, h0, params, biases, layers, _, _, bidir, batch_first = args
        hx = [h0]
    if not (torch.is_tensor(x) and all(torch.is_tensor(t) for t in [*hx, *params])):
        return None
    return x, hx, list(params), bool(biases), int(layers), bool(bidir), bool(batch_first)


def meta_rnn_outputs(name: str, args: tuple):
    """The op's outputs as meta tensors, or None when the fast rule does not apply."""
    parts = _parts(name, args)
    if parts is None:
        return None
    x, hx, params, biases, layers, bidir, batch_first = parts
    tensors = [x, *hx, *params]
    if any(t.device.type != "meta" or t.dtype != x.dtype for t in tensors) or not x.is_floating_point():
        return None
    directions = 2 if bidir else 1
    h0 = hx[0]
    if x.dim() != 3 or h0.dim() != 3 or not params or params[0].dim() != 2:
        return None
    batch, length = (x.shape[0], x.shape[1]) if batch_first else (x.shape[1], x.shape[0])
    hidden = hx[-1].shape[-1]                 # the cell size (LSTM's c0); h0 may be projected
    out_size = h0.shape[-1]
    projected = name == "lstm" and out_size != hidden
    per_direction = (4 if biases else 2) + projected
    if (len(params) != layers * directions * per_direction
            or params[0].shape != (GATES[name] * hidden, x.shape[2])
            or any(h.shape[:2] != (layers * directions, batch) for h in hx) or length == 0):
        return None
    shape = (batch, length, directions * out_size) if batch_first else (length, batch, directions * out_size)
    track = torch.is_grad_enabled() and any(t.requires_grad for t in tensors)
    anchor = sum(t.reshape(-1)[:1].sum() for t in tensors) * 0 if track else None
    outs = [x.new_empty(shape), *(h.new_empty(h.shape) for h in hx)]
    if anchor is not None:
        outs = [o + anchor for o in outs]
    return tuple(outs)


class _FastMetaRNNs(TorchFunctionMode):
    def __torch_function__(self, func, types, args=(), kwargs=None):
        name = getattr(func, "__name__", "")
        if name in GATES and not kwargs:
            outs = meta_rnn_outputs(name, tuple(args))
            if outs is not None:
                return outs
        return func(*args, **(kwargs or {}))


def fast_meta_rnns() -> TorchFunctionMode:
    """A context manager under which torch's fused RNN ops on 'meta' are answered by their shape rule."""
    return _FastMetaRNNs()


def any_on_meta(values) -> bool:
    """Whether a tensor among `values` (a flat iterable) or an nn.Module's parameters is on 'meta'."""
    for v in values:
        if torch.is_tensor(v) and v.device.type == "meta":
            return True
        if isinstance(v, torch.nn.Module) and any(p.device.type == "meta" for p in v.parameters()):
            return True
    return False
