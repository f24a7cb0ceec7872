"""How hard each hidden "learns a small planted-signal task" check is: steps to the bar, per model.

For every graded model with a learnability task, the reference class, the spec-following variants
listed below and every mutant that redefines the class are trained in this process exactly as the
check trains them in the worker (same data, batch size, learning rate, Adam, loss), scored every 10
steps. Prints, per seed, the first step at which the validation metric reaches the bar ("-" if it
never does within the task's steps) and the best value seen. A task is sized well when the
reference and the variants reach the bar with a margin of steps and every mutant stays clearly below.

Usage: python bench/bench_learn_tasks.py [--assignment jund] [--seeds 3] [--model LSTMClassifier]
       [--batch-size B] [--lr LR] [--steps N]   (try another size of the task; the checks keep theirs)
"""
from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import time

import torch
from torch import nn

from autograder import pipeline
from autograder.answers import items_affected, notebook_namespace
from autograder.modeltests import ModelSpec


class _LSTMVariant(nn.Module):
    """JUND's LSTMClassifier as a student may reasonably write it: other sizes, two layers."""

    def __init__(self, hidden: int = 64, layers: int = 1, fc: int = 32, dropout: float = 0.5):
        super().__init__()
        self.lstm = nn.LSTM(4, hidden, num_layers=layers, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden + 1, fc), nn.ReLU(), nn.Dropout(dropout), nn.Linear(fc, 1))

    def forward(self, X, a):
        _, (h, _) = self.lstm(X)
        return self.head(torch.cat([h[-1], a.reshape(-1, 1)], 1))


VARIANTS = {   # (assignment, model title) -> {label: factory}
    ("jund", "LSTMClassifier"): {"hidden 32": lambda: _LSTMVariant(hidden=32),
                                 "hidden 128": lambda: _LSTMVariant(hidden=128),
                                 "two layers": lambda: _LSTMVariant(layers=2)},
}


def learn_specs(assignment: str) -> list:
    """The ModelSpecs of the assignment's hidden checks that carry a learnability task."""
    module = importlib.import_module(f"autograder.checks.{assignment}")
    specs = [getattr(obj, "spec", None) for _, obj in inspect.getmembers(module, inspect.isclass)]
    return [s for s in specs if isinstance(s, ModelSpec) and s.learn is not None]


def contenders(assignment: str, title: str) -> dict:
    """{label: zero-argument factory}: the reference, the variants, every mutant that changes `title`.

    A mutant's `title` is the class its notebook would define: every answer cell run in notebook
    order with the mutant's cells in place (`autograder.answers`), so a mutant that changes a helper
    the class uses counts too.
    """
    ref = importlib.import_module(f"course_lib.reference.{assignment}")
    base = {"np": importlib.import_module("numpy"), "torch": torch, "nn": nn, "F": torch.nn.functional,
            **{k: v for k, v in vars(ref).items() if not k.startswith("__")}}
    out = {"reference": getattr(ref, title)}
    out.update(VARIANTS.get((assignment, title), {}))
    for name, cells in sorted(pipeline.load_mutants(assignment).items()):
        if title in items_affected(assignment, cells):
            out[f"mutant {name}"] = notebook_namespace(assignment, base, cells)[title]
    return out


def steps_to_bar(factory, spec: ModelSpec, seed: int, device: str, every: int = 10) -> tuple:
    """(first step reaching the bar or None, best metric, ms per training step, seconds in all),
    training as the check does."""
    task = spec.learn
    started = time.perf_counter()
    train, valid = task.make_data(torch.Generator().manual_seed(7))
    torch.manual_seed(seed)
    model = factory(*spec.build_args, **spec.build_kwargs).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=task.lr)
    gen = torch.Generator().manual_seed(1000 + seed)
    inputs = [train[i].to(device) for i in spec.inputs]
    targets = [train[i].to(device) for i in spec.targets]
    shape = spec.output_transform or (lambda t: t)
    best, spent = float("-inf"), 0.0
    for k in range(1, task.steps + 1):
        t = time.perf_counter()
        model.train()
        rows = torch.randint(0, train[0].shape[0], (task.batch_size,), generator=gen).to(device)
        loss = task.loss(shape(model(*[x[rows] for x in inputs])), *[y[rows] for y in targets])
        opt.zero_grad()
        loss.backward()
        opt.step()
        spent += time.perf_counter() - t
        if k % every == 0:
            model.eval()
            with torch.no_grad():
                out = shape(model(*[valid[i].to(device) for i in spec.inputs]))
            value = float(task.metric(out.float().cpu(), *[valid[i] for i in spec.targets]))
            best = max(best, value)
            if value >= task.bar:
                return k, best, 1000 * spent / k, time.perf_counter() - started
    return None, best, 1000 * spent / task.steps, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--assignment", action="append", help="default: every assignment")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--model", action="append", help="only these graded models (default: all)")
    for name, kind in (("batch-size", int), ("lr", float), ("steps", int)):
        parser.add_argument(f"--{name}", type=kind, help="override the task's own value")
    args = parser.parse_args()
    overrides = {k: v for k, v in (("batch_size", args.batch_size), ("lr", args.lr), ("steps", args.steps))
                 if v is not None}
    device = "cuda" if torch.cuda.is_available() else "cpu"
    torch.set_num_threads(1)            # as the grading worker trains
    print(f"device: {device}, torch threads: {torch.get_num_threads()}; data: each task's own synthetic data")
    for assignment in args.assignment or pipeline.assignments():
        for spec in learn_specs(assignment):
            if args.model and spec.title not in args.model:
                continue
            spec = dataclasses.replace(spec, learn=dataclasses.replace(spec.learn, **overrides))
            task = spec.learn
            print(f"\n{assignment}.{spec.title}: bar {task.metric_name} >= {task.bar}, at most {task.steps} steps "
                  f"of batch {task.batch_size}, Adam lr {task.lr:g}, checked every {task.check_every}")
            for label, factory in contenders(assignment, spec.title).items():
                runs = [steps_to_bar(factory, spec, s, device) for s in range(args.seeds)]
                steps = " ".join(f"{r[0] or '-':>4}" for r in runs)
                print(f"  {label:<40} steps to bar: {steps}   best {max(r[1] for r in runs):.3f}   "
                      f"{sum(r[2] for r in runs) / len(runs):.1f} ms/step   "
                      f"{sum(r[3] for r in runs) / len(runs):.2f} s per run")


if __name__ == "__main__":
    main()
