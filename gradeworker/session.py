"""The worker's request handlers: each takes plain data from the judge, runs student code, returns plain data.

A `Session` holds the student's namespace (the names their notebook defined) and a table of
handles: objects that live here (a built model, an uploaded tensor, a loader) and that the
judge refers to by number. Every request can carry a seed (set before student code runs, so
an answer never depends on what ran before) and a time budget (an alarm interrupts student
code; the judge also kills the whole worker if no answer comes).
"""
from __future__ import annotations

import contextlib
import io
import random
import signal
import threading
from pathlib import Path

import numpy as np
import torch
from torch import nn

from . import objects
from .meta_rnn import any_on_meta, fast_meta_rnns
from .wire import Decoder, Encoder, WireError, type_name

MESSAGE_CHARS = 300
CONFIG_ATTRS = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups",
                "in_features", "out_features", "input_size", "hidden_size", "num_layers", "batch_first",
                "bidirectional", "dropout", "p", "num_embeddings", "embedding_dim", "output_size")


class BudgetExceeded(BaseException):
    """Raised inside student code when a request's time budget runs out (BaseException: not caught by
    a plain `except Exception`)."""


class RequestError(Exception):
    """A malformed request (the judge's mistake, never the student's)."""


def describe_exception(exc: BaseException) -> dict:
    """Type, type names of its classes and first message line, capped: what the judge may show."""
    try:
        text = str(exc).strip()
    except BaseException:
        text = ""
    line = text.splitlines()[0] if text else ""
    if len(line) > MESSAGE_CHARS:
        line = line[:MESSAGE_CHARS] + "…"
    return {"type": type(exc).__name__[:80], "mro": [c.__name__[:80] for c in type(exc).__mro__][:12],
            "message": line}


@contextlib.contextmanager
def alarm(seconds):
    """Raise BudgetExceeded in the main thread after `seconds` (no-op without a budget or off the main thread)."""
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def ring(signum, frame):
        raise BudgetExceeded()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, float(seconds))
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def set_seed(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


@contextlib.contextmanager
def preserved_state():
    """Restore the global RNGs and grad mode afterwards (used in a student's own kernel)."""
    py, np_state, grad = random.getstate(), np.random.get_state(), torch.is_grad_enabled()
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        try:
            yield
        finally:
            random.setstate(py)
            np.random.set_state(np_state)
            torch.set_grad_enabled(grad)


class Session:
    """Answers the judge's requests against one student's namespace."""

    def __init__(self, namespace: dict, scratch: Path | None = None, keep_state: bool = False,
                 quiet: bool = True):
        self.namespace = namespace
        self.scratch = Path(scratch) if scratch else None
        self.keep_state = keep_state     # True in a student's kernel: leave RNGs and grad mode as found
        self.quiet = quiet               # swallow what student code prints during a request
        self.handles: dict = {}
        self.next_id = 1
        self.pending = None              # the output of the last forward_keep, with its graph

    # ------------------------------------------------------------------ dispatch
    def handle(self, tree: dict, tensors: dict) -> tuple:
        """(response tree, tensors) for one request frame."""
        try:
            if not isinstance(tree, dict) or not isinstance(tree.get("op"), str):
                raise RequestError("a request needs an op")
            op = getattr(self, "op_" + tree["op"], None)
            if op is None:
                raise RequestError(f"unknown op {tree['op']!r}")
            args = Decoder(tensors, special=self._resolve)(tree.get("args", {"t": "dict", "v": []}))
            if not isinstance(args, dict):
                raise RequestError("args must be a dict")
        except (RequestError, WireError, KeyError, TypeError, ValueError) as exc:
            return {"error": f"{type(exc).__name__}: {exc}"[:500]}, {}
        keep = bool(tree.get("keep"))
        sink = io.StringIO()
        state = preserved_state() if self.keep_state else contextlib.nullcontext()
        quiet = (contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink)) if self.quiet else ()
        try:
            with state, contextlib.ExitStack() as stack:
                for q in quiet:
                    stack.enter_context(q)
                if tree.get("seed") is not None:
                    set_seed(int(tree["seed"]))
                with alarm(tree.get("budget_s")):
                    result = op(**args)
                    if keep:
                        result = self._keep(result)
                    enc = Encoder(special=self._handle_tree)
                    out = enc(result)
            return {"ok": out}, enc.tensors
        except BudgetExceeded:
            return {"timeout": True}, {}
        except RequestError as exc:
            return {"error": f"RequestError: {exc}"[:500]}, {}
        except WireError as exc:
            return {"raised": {"type": "WireError", "mro": ["WireError"], "message": str(exc)[:MESSAGE_CHARS],
                               "wire": True}}, {}
        except BaseException as exc:  # anything student code raised, SystemExit and KeyboardInterrupt included
            return {"raised": describe_exception(exc)}, {}

    def _resolve(self, tree: dict, decode):
        tag = tree.get("t")
        if tag == "ref":
            if tree.get("id") not in self.handles:
                raise RequestError("unknown handle")
            return self.handles[tree["id"]]
        if tag == "new":
            args = decode(tree.get("args"))
            if not isinstance(args, dict):
                raise RequestError("recipe args must be a dict")
            return objects.build(str(tree.get("kind")), args)
        raise WireError(f"unknown tag {str(tag)[:20]!r}")

    def _keep(self, value) -> "Kept":
        hid = self.next_id
        self.next_id += 1
        self.handles[hid] = value
        return Kept(hid, value)

    @staticmethod
    def _handle_tree(value):
        if isinstance(value, Kept):
            return {"t": "ref", "id": value.id, "type": type_name(value.value),
                    "module": isinstance(value.value, nn.Module)}
        return None

    def _target(self, target: dict):
        if "name" in target:
            name = target["name"]
            if name not in self.namespace:
                raise NameError(f"name {name!r} is not defined")
            obj = self.namespace[name]
        elif "ref" in target:
            obj = self.handles[target["ref"]] if target["ref"] in self.handles else None
            if obj is None:
                raise RequestError("unknown handle")
        elif "builtin" in target:
            obj = BUILTINS.get(target["builtin"])
            if obj is None:
                raise RequestError("unknown builtin")
        else:
            raise RequestError("a target needs a name, a ref or a builtin")
        if "attr" in target:
            obj = getattr(obj, str(target["attr"]))
        return obj

    # ------------------------------------------------------------------ ops
    def op_ping(self):
        return "pong"

    def op_device(self):
        return {"cuda": torch.cuda.is_available(), "threads": torch.get_num_threads()}

    def op_lookup(self, name: str):
        """What the notebook defined under `name`."""
        if name not in self.namespace:
            return {"defined": False}
        obj = self.namespace[name]
        is_class = isinstance(obj, type)
        return {"defined": True, "type": type_name(obj), "class": is_class, "callable": callable(obj),
                "module_class": is_class and issubclass(obj, nn.Module),
                "name": str(getattr(obj, "__name__", ""))[:80]}

    def op_call(self, target: dict, args=(), kwargs=None, mode=None, no_grad: bool = False,
                grad_wrt=(), backward: bool = False):
        """target(*args, **kwargs); options: the callee's train/eval mode, no_grad, gradients of tensor args."""
        fn = self._target(target)
        args, kwargs = list(args), dict(kwargs or {})
        if mode is not None and isinstance(fn, nn.Module):
            fn.train(mode == "train")
        for i in grad_wrt:
            args[i] = args[i].detach().clone().requires_grad_(True)
        meta = fast_meta_rnns() if any_on_meta([fn, *args, *kwargs.values()]) else contextlib.nullcontext()
        with torch.no_grad() if no_grad else contextlib.nullcontext(), meta:
            result = fn(*args, **kwargs)
        if not grad_wrt:
            return result
        connected = torch.is_tensor(result) and result.requires_grad
        if backward and connected:
            result.backward()
        return {"result": result, "connected": connected, "grads": [args[i].grad for i in grad_wrt]}

    def op_many(self, target: dict, calls: list):
        """target called once per [args, kwargs]; each entry is {"ok": value} or {"raised": ...}."""
        fn = self._target(target)
        out = []
        for args, kwargs in calls:
            try:
                out.append({"ok": fn(*args, **(kwargs or {}))})
            except BudgetExceeded:
                raise
            except Exception as exc:
                out.append({"raised": describe_exception(exc)})
        return out

    def op_put(self, value):
        return value

    def op_release(self, ids=()):
        for i in ids:
            self.handles.pop(i, None)
        return None

    def op_clear(self):
        self.handles.clear()
        self.pending = None
        return None

    def op_describe(self, ref: int):
        """The modules (with their configuration) and parameters of a model."""
        model = self._module(ref)
        modules = []
        for name, m in model.named_modules():
            bases = [c.__name__ for c in type(m).__mro__ if c.__module__.startswith("torch.nn")]
            attrs = {}
            for a in CONFIG_ATTRS:
                v = getattr(m, a, None)
                if isinstance(v, (int, float, str, bool)) or isinstance(v, tuple) and \
                        all(isinstance(x, (int, float)) for x in v):
                    attrs[a] = list(v) if isinstance(v, tuple) else v
            if isinstance(m, (nn.Linear, nn.Conv1d, nn.Conv2d)):
                attrs["has_bias"] = m.bias is not None
            modules.append({"name": name, "type": type_name(m), "bases": bases, "attrs": attrs,
                            "training": bool(m.training)})
        params = [{"name": n, "shape": list(p.shape), "numel": int(p.numel()), "trainable": bool(p.requires_grad)}
                  for n, p in model.named_parameters()]
        return {"modules": modules, "params": params}

    def op_state(self, ref: int):
        return {k: v for k, v in self._module(ref).state_dict().items()}

    def op_grads(self, ref: int):
        """{parameter name: its .grad (None if never computed)}."""
        return {k: p.grad for k, p in self._module(ref).named_parameters()}

    def op_load_state(self, ref: int, state: dict):
        """Copy the given tensors into the model's own parameters and buffers, in place."""
        model = self._module(ref)
        current = model.state_dict(keep_vars=True)
        missing = [k for k in state if k not in current]
        if missing:
            raise RequestError(f"no such parameter: {missing[0]}")
        with torch.no_grad():
            for k, v in state.items():
                current[k].copy_(v.to(current[k].device))
        return None

    def op_to(self, ref: int, device: str):
        self._module(ref).to(device)
        return None

    def op_set_mode(self, ref: int, training: bool):
        self._module(ref).train(bool(training))
        return None

    def op_attr(self, ref: int, name: str):
        return getattr(self.handles[ref], name)

    def op_trace(self, ref: int, args, kind: str):
        """(module name, input, output) of every call of a `kind` module during one no-grad forward."""
        model = self._module(ref)
        calls, hooks = [], []
        for name, m in model.named_modules():
            if any(c.__name__ == kind for c in type(m).__mro__ if c.__module__.startswith("torch.nn")):
                hooks.append(m.register_forward_hook(
                    lambda mod, inp, out, name=name: calls.append((name, inp[0], out))))
        try:
            with torch.no_grad():
                model(*args)
        finally:
            for h in hooks:
                h.remove()
        return calls

    def op_forward_keep(self, ref: int, data: list, rows, mode: str = "train"):
        """model(*[t[rows] for t in data]) with gradients on; the output is kept for `backward_step`."""
        model = self._module(ref)
        model.train(mode == "train")
        out = model(*[t[rows] for t in data])
        if not torch.is_tensor(out):
            raise TypeError(f"forward returned {type(out).__name__}, expected a tensor")
        self.pending = out
        return out

    def op_backward_step(self, optimizer, grad):
        """Back-propagate `grad` (d loss / d output, from the judge) through the kept output; one optimizer step."""
        out, self.pending = self.pending, None
        if out is None:
            raise RequestError("no forward_keep before backward_step")
        opt = optimizer
        opt.zero_grad()
        if out.requires_grad:
            out.backward(grad.to(out.device).reshape(out.shape))
        opt.step()
        return None

    def op_step_and_forward(self, optimizer, grad, ref: int, data: list, rows, mode: str = "train"):
        """`backward_step`, then the next `forward_keep`: one round trip per training step instead of two."""
        self.op_backward_step(optimizer, grad)
        return self.op_forward_keep(ref, data, rows, mode)

    def op_write_files(self, files: dict):
        """Write {name: uint8 array} into the scratch folder; return their paths."""
        folder = self._scratch_folder("files")
        paths = []
        for name, data in files.items():
            if "/" in name or name.startswith("."):
                raise RequestError("bad file name")
            path = folder / name
            path.write_bytes(np.asarray(data, dtype=np.uint8).tobytes())
            paths.append(str(path))
        return paths

    def op_scratch_path(self, name: str):
        """A fresh path in the scratch folder for student code to write a file to (the file is not created)."""
        if "/" in name or name.startswith("."):
            raise RequestError("bad file name")
        return str(self._scratch_folder("out") / name)

    def op_load_tensors(self, path: str):
        """torch.load(path, weights_only=True) of a file in the scratch folder: tensors and plain containers only.

        A missing file raises FileNotFoundError, and a file that is not a plain torch file of
        tensors raises what torch.load raised: both come back as what student code did.
        """
        if self.scratch is None:
            raise RequestError("no scratch folder")
        file = Path(path).resolve()
        if not file.is_relative_to(self.scratch.resolve()):
            raise RequestError("only files in the scratch folder can be loaded")
        return torch.load(file, map_location="cpu", weights_only=True)

    def _scratch_folder(self, kind: str) -> Path:
        if self.scratch is None:
            raise RequestError("no scratch folder")
        folder = self.scratch / f"{kind}-{self.next_id}"
        self.next_id += 1
        folder.mkdir(parents=True)
        return folder

    def _module(self, ref: int) -> nn.Module:
        obj = self.handles.get(ref)
        if not isinstance(obj, nn.Module):
            raise TypeError(f"{type(obj).__name__} is not an nn.Module")
        return obj


class Kept:
    """A value stored in the handle table, sent to the judge as a reference."""

    def __init__(self, hid: int, value):
        self.id, self.value = hid, value


BUILTINS = {"len": len, "list": list}
