"""Generic hidden checks of a student's nn.Module, configured per model by one `ModelSpec`.

`model_tests(spec)` returns a pytest test class: the model builds, gives the right output
shape for several batch sizes, gives finite outputs, treats each sample independently, uses
every declared input, has the required layers, a sensible number of parameters, runs on any
device, and learns a small planted-signal task. The model lives in the worker; the judge
sends inputs and reads outputs, and drives training by sending the loss gradient of each
step, so the training labels and the loss stay on the judge's side.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import pytest
import torch

from .outcomes import CheckFailed, NotChecked, StudentError
from .remote import ModelDescription, RemoteModel
from .rubric import graded, rubric, step

BATCH_SIZES = (1, 5, 32)


@dataclass(frozen=True)
class LayerRule:
    """A required layer: `test(description, model)` returns None when the rule holds, else the student message."""
    name: str
    points: float
    test: Callable[[ModelDescription, RemoteModel], str | None]


@dataclass(frozen=True)
class LearnTask:
    """Train a fresh model on small synthetic data; pass if the validation metric reaches `bar`."""
    make_data: Callable[[torch.Generator], tuple]   # -> (train_tensors, valid_tensors)
    loss: Callable                                  # loss(output, *targets), judge-side
    metric: Callable                                # metric(output, *targets) -> float
    bar: float
    steps: int = 200
    batch_size: int = 64
    lr: float = 1e-3
    metric_name: str = "metric"
    points: float = 2.0
    budget_s: float = 90.0
    check_every: int = 50                           # validate every this many steps; pass once the bar is reached


@dataclass(frozen=True)
class ModelSpec:
    """How to build, call and judge one model class."""
    title: str                                      # the graded name, e.g. "MLP"
    make_inputs: Callable[[int, torch.Generator], tuple]
    output_shape: Callable[[int], tuple]
    input_names: tuple = ("x",)
    targets: tuple = (1,)                           # positions of the targets in a data tuple
    inputs: tuple = (0,)                            # positions of the inputs in a data tuple
    build_args: tuple = ()                          # the model is built as Class(*build_args, **build_kwargs)
    build_kwargs: dict = field(default_factory=dict)
    layers: tuple = ()
    param_range: tuple = (100, 5_000_000)
    learn: LearnTask | None = None
    points: dict = field(default_factory=dict)      # property key -> points (defaults below)
    output_transform: Callable | None = None        # applied to outputs before judging (e.g. (B,) -> (B, 1))

    @property
    def shown_call(self) -> str:
        args = [*map(repr, self.build_args), *(f"{k}={v!r}" for k, v in self.build_kwargs.items())]
        return f"{self.title}({', '.join(args)})"


DEFAULT_POINTS = {"builds": 1, "shape": 1, "finite": 0.5, "independent": 1, "uses_input": 1,
                  "params": 0.5, "device": 1}


def build(student, spec: ModelSpec, seed: int = 0) -> RemoteModel:
    """A fresh instance of the student's class in the worker; CheckFailed with the reason if it cannot be built."""
    info = student.defined(spec.title)
    if not (info.get("class") and info.get("module_class")):
        raise CheckFailed(f"{spec.title} should be a class derived from nn.Module")
    try:
        model = student.cls(spec.title).build(*spec.build_args, seed=seed, what=spec.shown_call,
                                              **spec.build_kwargs)
    except StudentError as exc:
        if exc.not_implemented:
            raise CheckFailed("not implemented yet") from None
        default = "" if spec.build_args or spec.build_kwargs else " with default arguments"
        raise CheckFailed(f"{spec.shown_call}{default} {exc.describe()}") from None
    if not isinstance(model, RemoteModel):
        raise CheckFailed(f"{spec.title}() did not give an nn.Module")
    if student.cuda:
        model.to("cuda")
    return model


def inputs_on(student, spec: ModelSpec, batch_size: int, seed: int) -> list:
    return [t.to(student.device) for t in spec.make_inputs(batch_size, torch.Generator().manual_seed(seed))]


def forward(model: RemoteModel, inputs, spec: ModelSpec, what: str = "forward", mode: str = "eval",
            seed: int | None = 0):
    """The model's output (after the spec's transform) as a tensor; CheckFailed otherwise."""
    out = model.forward(*inputs, what=what, mode=mode, seed=seed)
    if spec.output_transform is not None:
        out = spec.output_transform(out)
    if not torch.is_tensor(out):
        raise CheckFailed(f"forward returned {type(out).__name__}, expected a tensor")
    return out


def train_remotely(student, model: RemoteModel, task: LearnTask, spec: ModelSpec, train: tuple,
                   gen: torch.Generator, reached: Callable[[], bool] | None = None) -> int:
    """Up to `task.steps` Adam steps in the worker; each step's loss and its gradient are computed here.

    One request per step: the gradient of step k travels with the rows of step k + 1. Every
    `task.check_every` steps `reached()` is asked (if given) and training stops once it says yes.
    Returns the number of steps taken.
    """
    device = student.device
    data = [student.put(train[i].to(device)) for i in spec.inputs]
    targets = [train[i].to(device) for i in spec.targets]
    opt = student.make("optimizer", kind="Adam", params_of=model, lr=task.lr)
    n = train[0].shape[0]

    def next_forward(step_grad=None):
        rows = torch.randint(0, n, (task.batch_size,), generator=gen)
        if step_grad is None:
            return rows, model.forward_keep(data, rows.to(device))
        return rows, model.step_and_forward(opt, step_grad, data, rows.to(device))

    rows, out = next_forward()
    for k in range(1, task.steps + 1):
        if not torch.is_tensor(out) or not out.is_floating_point() or out.device.type == "meta":
            raise CheckFailed("forward in training mode did not return a floating-point tensor")
        leaf = out.detach().requires_grad_(True)
        shaped = spec.output_transform(leaf) if spec.output_transform else leaf
        loss = task.loss(shaped, *[t[rows.to(t.device)] for t in targets])
        grad, = torch.autograd.grad(loss, leaf, allow_unused=True)
        grad = torch.zeros_like(leaf) if grad is None else grad
        checkpoint = reached is not None and k % task.check_every == 0
        if k == task.steps or checkpoint:
            student.request("backward_step", seed=None, optimizer=opt, grad=grad)
            if k == task.steps or reached():
                return k
            rows, out = next_forward()
        else:
            rows, out = next_forward(grad)
    return task.steps


def model_tests(spec: ModelSpec):
    """The standard test class of a model, graded as item `spec.title`."""
    pts = {**DEFAULT_POINTS, **spec.points}

    class ModelTests:
        @pytest.fixture
        def model(self, student):
            try:
                return build(student, spec)
            except CheckFailed:
                raise NotChecked() from None

        @step(budget_s=30)
        def shapes(self, student):
            model = build(student, spec)
            for b in BATCH_SIZES:
                try:
                    out = forward(model, inputs_on(student, spec, b, 0), spec)
                except StudentError as exc:
                    raise CheckFailed(f"forward on a batch of {b} {exc.describe()}") from None
                want = spec.output_shape(b)
                if tuple(out.shape) != tuple(want):
                    raise CheckFailed(f"batch of {b}: output shape {tuple(out.shape)}, expected {tuple(want)}")
            return True

        @pytest.fixture
        def shaped(self, model, shapes):
            shapes.needed
            return model

        @rubric(pts["builds"], f"{spec.shown_call if spec.build_args or spec.build_kwargs else spec.title + '()'} "
                               f"builds{'' if spec.build_args or spec.build_kwargs else ' with default arguments'}")
        def test_builds(self, student):
            build(student, spec)

        @rubric(pts["shape"], "output shape for batches of 1, 5 and 32")
        def test_shape(self, shapes):
            shapes.value

        @rubric(pts["finite"], "outputs are finite")
        def test_finite(self, student, shaped):
            out = forward(shaped, inputs_on(student, spec, 32, 1), spec)
            if out.device.type == "meta" or not torch.isfinite(out).all():
                raise CheckFailed("the output contains nan or inf")

        @rubric(pts["independent"], "each sample's output depends only on that sample")
        def test_independent(self, student, shaped):
            inputs = inputs_on(student, spec, 16, 2)
            out = forward(shaped, inputs, spec)
            alone = [forward(shaped, [t[i:i + 1] for t in inputs], spec)[0] for i in (0, 15)]
            if not all(torch.allclose(a, out[i], atol=1e-4, rtol=1e-3) for a, i in zip(alone, (0, 15))):
                raise CheckFailed("the output for a sample changes with the other samples in the batch "
                                  "(is the batch axis mixed with the sequence axis?)")

        @rubric(pts["params"], "number of parameters in range")
        def test_params(self, model):
            lo, hi = spec.param_range
            n = model.describe().trainable
            if not lo <= n <= hi:
                raise CheckFailed(f"{n:,} trainable parameters; expected between {lo:,} and {hi:,}")

        @rubric(pts["device"], "runs on any device (no hard-coded .cpu()/.cuda())")
        def test_device(self, student, shaped):
            """On CUDA: run there. Without CUDA: on the 'meta' device, which catches hard-coded devices."""
            target = "cuda" if student.cuda else "meta"
            shaped.to(target)
            inputs = [t.to(target) for t in spec.make_inputs(4, torch.Generator().manual_seed(5))]
            try:
                out = forward(shaped, inputs, spec)
            except StudentError as exc:
                raise CheckFailed("forward fails when the model and inputs are on another device "
                                  f"({exc.describe()[:100]}): avoid .cpu(), .cuda(), .numpy() and "
                                  "new tensors without device=") from None
            if out.device.type != target:
                raise CheckFailed(f"inputs on {target} but the output is on {out.device.type}")

    for i, name in enumerate(spec.input_names):
        setattr(ModelTests, f"test_uses_input_{name}", _uses_input_test(spec, pts["uses_input"], i, name))
    for k, rule in enumerate(spec.layers):
        setattr(ModelTests, f"test_layer_{k}", _layer_test(rule))
    if spec.learn is not None:
        setattr(ModelTests, "test_learns", _learn_test(spec))
    ModelTests.spec = spec             # read by bench/bench_learn_tasks.py
    ModelTests.__name__ = ModelTests.__qualname__ = f"Test{spec.title}"
    return graded(spec.title)(ModelTests)


def _uses_input_test(spec: ModelSpec, points: float, position: int, name: str):
    @rubric(points, f"uses the input `{name}`")
    def test(self, student, shaped):
        inputs = inputs_on(student, spec, 16, 3)
        out = forward(shaped, inputs, spec)
        changed = list(inputs)
        changed[position] = inputs_on(student, spec, 16, 4)[position]
        if torch.allclose(out, forward(shaped, changed, spec), atol=1e-6, rtol=0):
            raise CheckFailed(f"changing `{name}` does not change the output: is it used?")
    return test


def _layer_test(rule: LayerRule):
    @rubric(rule.points, rule.name)
    def test(self, model):
        message = rule.test(model.describe(), model)
        if message:
            raise CheckFailed(message)
    return test


def _learn_test(spec: ModelSpec):
    task = spec.learn

    @rubric(task.points, "learns a small planted-signal task", budget_s=task.budget_s)
    def test(self, student, shaped):
        gen = torch.Generator().manual_seed(7)
        train, valid = task.make_data(gen)
        valid_inputs = [student.put(valid[i].to(student.device)) for i in spec.inputs]
        valid_targets = [valid[i] for i in spec.targets]

        def score(seed: int | None) -> float:
            out = forward(shaped, valid_inputs, spec, seed=seed)
            return float(task.metric(out.float().cpu(), *valid_targets))

        # checkpoints score with the worker's random stream as it is (seed=None); the last one with seed 0
        if train_remotely(student, shaped, task, spec, train, gen,
                          reached=lambda: score(None) >= task.bar) < task.steps:
            return
        final = score(0)
        if not final >= task.bar:
            raise CheckFailed(f"after {task.steps} training steps on easy data the validation "
                              f"{task.metric_name} is {final:.3f}; a working model reaches {task.bar:.2f}")
    return test


def has_layer(*kinds: str, message: str, where: Callable[[dict], bool] = lambda attrs: True):
    """A LayerRule test: at least one submodule of one of `kinds` whose configuration satisfies `where`."""
    def test(desc: ModelDescription, model) -> str | None:
        return None if any(where(m.attrs) for m in desc.find(*kinds)) else message
    return test
