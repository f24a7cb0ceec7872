"""Generic properties of a student's nn.Module, configured per model by a `ModelSpec`.

Every assignment's model checks are built from these: it constructs, gives the
right output shape for several batch sizes, gives finite outputs, treats each
sample independently, uses every declared input, has the required layers, has
a sensible number of parameters, runs on any device, and learns a small
planted-signal task in a few hundred optimizer steps.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch
from torch import nn

from .core import Check, CheckFailed, Property, student_error

BATCH_SIZES = (1, 5, 32)


@dataclass(frozen=True)
class LayerRule:
    """A required layer: `test(model)` returns None when the rule holds, else the student message."""
    name: str
    points: float
    test: Callable[[nn.Module], str | None]


@dataclass(frozen=True)
class LearnTask:
    """Train a fresh model on small synthetic data; pass if the validation metric reaches `bar`."""
    make_data: Callable[[torch.Generator], tuple]   # -> (train_tensors, valid_tensors)
    loss: Callable                                  # loss(output, *targets)
    metric: Callable                                # metric(output, *targets) -> float
    bar: float
    steps: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    metric_name: str = "metric"
    points: float = 2.0
    budget_s: float = 90.0


@dataclass(frozen=True)
class ModelSpec:
    """How to build, call and judge one model class."""
    title: str                                      # e.g. "MLP"
    make_inputs: Callable[[int, torch.Generator], tuple]
    output_shape: Callable[[int], tuple]
    input_names: tuple = ("x",)
    targets: tuple = (1,)                           # positions of the targets in a data tuple
    inputs: tuple = (0,)                            # positions of the inputs in a data tuple
    build: Callable[[type], nn.Module] = lambda cls: cls()
    layers: tuple = ()
    param_range: tuple = (100, 5_000_000)
    learn: LearnTask | None = None
    points: dict = field(default_factory=dict)      # property key -> points (defaults below)
    output_transform: Callable | None = None        # applied before comparing outputs (e.g. tuple -> tensor)


DEFAULT_POINTS = {"builds": 1, "shape": 1, "finite": 0.5, "independent": 1, "uses_input": 1,
                  "params": 0.5, "device": 1}


def _forward(model, inputs, spec: ModelSpec):
    out = model(*inputs)
    if spec.output_transform is not None:
        out = spec.output_transform(out)
    if not torch.is_tensor(out):
        raise CheckFailed(f"forward returned {type(out).__name__}, expected a tensor")
    return out


def _eval_output(ctx, batch_size: int, seed: int = 0):
    spec: ModelSpec = ctx["spec"]
    gen = torch.Generator().manual_seed(seed)
    inputs = [t.to(ctx["device"]) for t in spec.make_inputs(batch_size, gen)]
    model = ctx["model"].eval()
    with torch.no_grad():
        return inputs, _forward(model, inputs, spec)


def _builds(ctx):
    spec: ModelSpec = ctx["spec"]
    cls = ctx["subject"]
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        raise CheckFailed(f"{spec.title} should be a class derived from nn.Module")
    try:
        torch.manual_seed(0)
        model = spec.build(cls)
    except NotImplementedError:
        raise CheckFailed("not implemented yet") from None
    except Exception as exc:
        raise CheckFailed(f"{spec.title}() with default arguments {student_error(exc)}") from None
    ctx["model"] = model.to(ctx["device"])


def _shape(ctx):
    spec: ModelSpec = ctx["spec"]
    for b in BATCH_SIZES:
        try:
            _, out = _eval_output(ctx, b)
        except CheckFailed:
            raise
        except Exception as exc:
            raise CheckFailed(f"forward on a batch of {b} {student_error(exc)}") from None
        want = spec.output_shape(b)
        if tuple(out.shape) != tuple(want):
            raise CheckFailed(f"batch of {b}: output shape {tuple(out.shape)}, expected {tuple(want)}")
    ctx["shape_ok"] = True


def _finite(ctx):
    _, out = _eval_output(ctx, 32, seed=1)
    if not torch.isfinite(out).all():
        raise CheckFailed("the output contains nan or inf")


def _independent(ctx):
    spec: ModelSpec = ctx["spec"]
    inputs, out = _eval_output(ctx, 16, seed=2)
    with torch.no_grad():
        alone = [_forward(ctx["model"], [t[i:i + 1] for t in inputs], spec)[0] for i in (0, 15)]
    if not all(torch.allclose(a, out[i], atol=1e-4, rtol=1e-3) for a, i in zip(alone, (0, 15))):
        raise CheckFailed("the output for a sample changes with the other samples in the batch "
                          "(is the batch axis mixed with the sequence axis?)")


def _uses_input(position: int, name: str):
    def test(ctx):
        spec: ModelSpec = ctx["spec"]
        inputs, out = _eval_output(ctx, 16, seed=3)
        other = list(spec.make_inputs(16, torch.Generator().manual_seed(4)))
        changed = list(inputs)
        changed[position] = other[position].to(ctx["device"])
        with torch.no_grad():
            out2 = _forward(ctx["model"], changed, spec)
        if torch.allclose(out, out2, atol=1e-6, rtol=0):
            raise CheckFailed(f"changing `{name}` does not change the output: is it used?")
    return test


def _layer(rule: LayerRule):
    def test(ctx):
        message = rule.test(ctx["model"])
        if message:
            raise CheckFailed(message)
    return test


def _params(ctx):
    lo, hi = ctx["spec"].param_range
    n = sum(p.numel() for p in ctx["model"].parameters() if p.requires_grad)
    if not lo <= n <= hi:
        raise CheckFailed(f"{n:,} trainable parameters; expected between {lo:,} and {hi:,}")


def _device(ctx):
    """On CUDA: run there. Without CUDA: run on the 'meta' device, which catches hard-coded devices."""
    spec: ModelSpec = ctx["spec"]
    target = "cuda" if torch.cuda.is_available() else "meta"
    model = spec.build(ctx["subject"]).to(target).eval()
    inputs = [t.to(target) for t in spec.make_inputs(4, torch.Generator().manual_seed(5))]
    try:
        with torch.no_grad():
            out = _forward(model, inputs, spec)
    except CheckFailed:
        raise
    except Exception as exc:
        raise CheckFailed("forward fails when the model and inputs are on another device "
                          f"({student_error(exc, 80)}): avoid .cpu(), .cuda(), .numpy() and "
                          "new tensors without device=") from None
    if out.device.type != target:
        raise CheckFailed(f"inputs on {target} but the output is on {out.device.type}")


def _learns(task: LearnTask):
    def test(ctx):
        spec: ModelSpec = ctx["spec"]
        device = ctx["device"]
        gen = torch.Generator().manual_seed(7)
        train, valid = task.make_data(gen)
        torch.manual_seed(0)
        model = spec.build(ctx["subject"]).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=task.lr)
        train = [t.to(device) for t in train]
        n = train[0].shape[0]
        model.train()
        for step in range(task.steps):
            rows = torch.randint(0, n, (task.batch_size,), generator=gen).to(device)
            batch = [t[rows] for t in train]
            out = _forward(model, [batch[i] for i in spec.inputs], spec)
            loss = task.loss(out, *[batch[i] for i in spec.targets])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        valid = [t.to(device) for t in valid]
        with torch.no_grad():
            out = _forward(model, [valid[i] for i in spec.inputs], spec)
        score = float(task.metric(out.float().cpu(), *[valid[i].cpu() for i in spec.targets]))
        if not score >= task.bar:
            raise CheckFailed(f"after {task.steps} training steps on easy data the validation "
                              f"{task.metric_name} is {score:.3f}; a working model reaches {task.bar:.2f}")
    return test


def model_check(spec: ModelSpec) -> Check:
    """The standard Check of a model class, with points from `spec.points` (or DEFAULT_POINTS)."""
    pts = {**DEFAULT_POINTS, **spec.points}
    needs = ("model",)
    props = [
        Property(f"{spec.title}() builds with default arguments", pts["builds"], _builds, provides=("model",)),
        Property("output shape for batches of 1, 5 and 32", pts["shape"], _shape, needs=needs,
                 provides=("shape_ok",)),
        Property("outputs are finite", pts["finite"], _finite, needs=needs + ("shape_ok",)),
        Property("each sample's output depends only on that sample", pts["independent"], _independent,
                 needs=needs + ("shape_ok",)),
    ]
    for i, name in enumerate(spec.input_names):
        props.append(Property(f"uses the input `{name}`", pts["uses_input"], _uses_input(i, name),
                              needs=needs + ("shape_ok",)))
    for rule in spec.layers:
        props.append(Property(rule.name, rule.points, _layer(rule), needs=needs))
    props.append(Property("number of parameters in range", pts["params"], _params, needs=needs))
    props.append(Property("runs on any device (no hard-coded .cpu()/.cuda())", pts["device"], _device,
                          needs=needs + ("shape_ok",)))
    if spec.learn is not None:
        props.append(Property("learns a small planted-signal task", spec.learn.points, _learns(spec.learn),
                              needs=needs + ("shape_ok",), budget_s=spec.learn.budget_s))
    return Check(spec.title, props, setup=lambda subject: {"subject": subject, "spec": spec})


def find_modules(model: nn.Module, kind: type) -> list:
    """All submodules of `model` that are instances of `kind`."""
    return [m for m in model.modules() if isinstance(m, kind)]


def has_layer(kind: type, message: str, where: Callable[[nn.Module], bool] = lambda m: True):
    """A LayerRule test: at least one submodule of `kind` satisfying `where`."""
    def test(model):
        return None if any(where(m) for m in find_modules(model, kind)) else message
    return test
