"""Hidden checks for the `jund` assignment."""
from __future__ import annotations

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from course_lib.motifs import load_motif, plant_sites, sample_background
from course_lib.reference import jund as ref

from .core import Check, CheckFailed, Property
from .functions import (as_float, assert_close, call, cuda_or_skip, expect_same_gradient,
                        expect_scalar_tensor, random_labels)
from .models import LayerRule, LearnTask, ModelSpec, find_modules, has_layer, model_check

SEQ_LEN = 101


def _inputs(batch_size: int, gen: torch.Generator):
    idx = torch.randint(0, 4, (batch_size, SEQ_LEN), generator=gen)
    X = nn.functional.one_hot(idx, 4).float()
    a = torch.rand(batch_size, 1, generator=gen)
    return X, a


def _planted_motif_data(gen: torch.Generator, n_train: int = 2048, n_valid: int = 512):
    """Half the sequences carry a JUND site in their last 16 bp; accessibility is noise.

    The site sits near the end so that an LSTM reading left to right can learn it
    in a few hundred steps; an MLP, a CNN and an LSTM wired as specified all reach
    AUROC > 0.95 here.
    """
    rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen)))
    pwm = load_motif("MA0491.1").pwm()
    n = n_train + n_valid
    seqs = sample_background(rng, (n, SEQ_LEN))
    y = (np.arange(n) % 2).astype(np.float32)
    rows = np.flatnonzero(y == 1)
    window = seqs[:, SEQ_LEN - 16:].copy()
    plant_sites(rng, window, rows, pwm)
    seqs[:, SEQ_LEN - 16:] = window
    X = torch.from_numpy(np.eye(4, dtype=np.float32)[seqs])
    yt = torch.from_numpy(y).reshape(-1, 1)
    w = torch.ones(n, 1)
    a = torch.from_numpy(rng.random((n, 1)).astype(np.float32))
    data = (X, yt, w, a)
    return tuple(t[:n_train] for t in data), tuple(t[n_train:] for t in data)


def _auroc(logits, y, w) -> float:
    return roc_auc_score(y.numpy().reshape(-1), logits.numpy().reshape(-1))


def _learn(bar: float, points: float) -> LearnTask:
    return LearnTask(make_data=_planted_motif_data, loss=ref.weighted_bce_loss, metric=_auroc, bar=bar,
                     steps=300, batch_size=64, lr=3e-3, metric_name="AUROC", points=points)


def _spec(title: str, layers: tuple, learn: LearnTask, points: dict) -> ModelSpec:
    return ModelSpec(title=title, make_inputs=_inputs, output_shape=lambda b: (b, 1), input_names=("X", "a"),
                     inputs=(0, 3), targets=(1, 2), layers=layers, learn=learn, points=points,
                     param_range=(500, 2_000_000))


def _dropout_rule(points: float) -> LayerRule:
    return LayerRule("uses dropout", points, has_layer(nn.Dropout, "no nn.Dropout layer found"))


def _two_linear(model):
    return None if len(find_modules(model, nn.Linear)) >= 2 else \
        "expected a hidden layer: at least two nn.Linear layers"


def _lstm_options(model):
    lstms = find_modules(model, nn.LSTM)
    if not lstms:
        return "no nn.LSTM layer found"
    lstm = lstms[0]
    if lstm.input_size != 4:
        return f"nn.LSTM input_size is {lstm.input_size}, expected 4 (one per base)"
    if not lstm.batch_first:
        return "nn.LSTM should be created with batch_first=True"
    return None


MLP_CHECK = model_check(_spec(
    "MLP",
    layers=(LayerRule("has at least one hidden layer", 1, _two_linear),),
    learn=_learn(bar=0.85, points=2),
    points={"finite": 0.5, "params": 0.5},
))

CNN_CHECK = model_check(_spec(
    "CNN",
    layers=(
        LayerRule("nn.Conv1d with in_channels=4", 1,
                  has_layer(nn.Conv1d, "expected an nn.Conv1d with in_channels=4", lambda m: m.in_channels == 4)),
        LayerRule("uses max-pooling", 0.5, has_layer((nn.MaxPool1d, nn.AdaptiveMaxPool1d), "no max-pooling layer found")),
        _dropout_rule(0.5),
    ),
    learn=_learn(bar=0.85, points=1.5),
    points={"independent": 0.5},
))

LSTM_CHECK = model_check(_spec(
    "LSTMClassifier",
    layers=(LayerRule("nn.LSTM(input_size=4, batch_first=True)", 1, _lstm_options), _dropout_rule(0.5)),
    learn=_learn(bar=0.85, points=1.5),
    points={},
))


# ---------------------------------------------------------------- weighted_accuracy
def _wacc_case(seed: int, n: int = 64):
    rng = np.random.default_rng(seed)
    return random_labels(rng, n), random_labels(rng, n), rng.uniform(0.1, 3.0, n)


def _wacc_matches(ctx):
    fn = ctx["subject"]
    for seed in range(3):
        pred, true, w = _wacc_case(seed)
        got = as_float(call(fn, pred, true, w, what="weighted_accuracy(...)"), "weighted_accuracy")
        assert_close(got, ref.weighted_accuracy(pred, true, w), "on random labels and weights")


def _wacc_types(ctx):
    fn = ctx["subject"]
    pred, true, w = _wacc_case(10, 40)
    want = ref.weighted_accuracy(pred, true, w)
    variants = {
        "Python lists": (pred.tolist(), true.tolist(), w.tolist()),
        "NumPy arrays": (pred, true, w),
        "torch tensors": (torch.tensor(pred, dtype=torch.float32), torch.tensor(true), torch.tensor(w)),
        "integer and boolean labels": (pred.astype(bool), true.astype(np.int64), w),
    }
    for label, args in variants.items():
        assert_close(as_float(call(fn, *args, what=f"with {label}"), "weighted_accuracy"), want, f"with {label}")


def _wacc_shapes(ctx):
    fn = ctx["subject"]
    pred, true, w = _wacc_case(11, 30)
    want = ref.weighted_accuracy(pred, true, w)
    for label, args in {"(N,1) predictions": (pred[:, None], true, w),
                        "(N,1) labels and weights": (pred, true[:, None], w[:, None]),
                        "(N,1) tensors": tuple(torch.tensor(v[:, None]) for v in (pred, true, w))}.items():
        assert_close(as_float(call(fn, *args, what=f"with {label}"), "weighted_accuracy"), want, f"with {label}")


def _wacc_zero_weight(ctx):
    fn = ctx["subject"]
    pred, true, _ = _wacc_case(12, 10)
    try:
        result = fn(pred, true, np.zeros(10))
    except ValueError:
        return None
    except NotImplementedError:
        raise CheckFailed("not implemented yet") from None
    except Exception as exc:
        raise CheckFailed(f"all-zero weights should raise ValueError, but it raised {type(exc).__name__}") from None
    raise CheckFailed(f"all-zero weights should raise ValueError, but it returned {result!r}")


def _wacc_gpu(ctx):
    device = cuda_or_skip()
    pred, true, w = _wacc_case(13, 50)
    args = tuple(torch.tensor(v, device=device) for v in (pred, true, w))
    got = as_float(call(ctx["subject"], *args, what="with CUDA tensors"), "weighted_accuracy")
    assert_close(got, ref.weighted_accuracy(pred, true, w), "with CUDA tensors")


WACC_CHECK = Check("weighted_accuracy", [
    Property("matches the definition on random labels and weights", 2, _wacc_matches),
    Property("accepts lists, NumPy arrays, tensors and bool/int labels", 1, _wacc_types),
    Property("accepts (N,) and (N,1) shapes mixed", 0.5, _wacc_shapes),
    Property("zero total weight raises ValueError", 1, _wacc_zero_weight),
    Property("accepts tensors on the GPU", 0.5, _wacc_gpu),
])


# ---------------------------------------------------------------- weighted_bce_loss
def _loss_case(seed: int, n: int = 32, scale: float = 3.0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n, 1, generator=g) * scale
    y = torch.randint(0, 2, (n, 1), generator=g).float()
    w = torch.rand(n, 1, generator=g) * 2
    return logits, y, w


def _loss_value(fn, logits, y, w, what: str) -> float:
    return as_float(call(fn, logits, y, w, what=what), "weighted_bce_loss")


def _loss_scalar(ctx):
    out = call(ctx["subject"], *_loss_case(0), what="weighted_bce_loss(logits, y, w)")
    expect_scalar_tensor(out, "weighted_bce_loss")


def _loss_matches(ctx):
    for seed in range(3):
        args = _loss_case(seed)
        assert_close(_loss_value(ctx["subject"], *args, what="on random logits"),
                     float(ref.weighted_bce_loss(*args)), "on random logits, labels and weights")


def _loss_stable(ctx):
    logits = torch.tensor([[60.0], [-60.0], [80.0], [-80.0]])
    y = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    w = torch.ones(4, 1)
    assert_close(_loss_value(ctx["subject"], logits, y, w, what="with large logits"),
                 float(ref.weighted_bce_loss(logits, y, w)), "with logits of ±60 and ±80 (work from logits)")


def _loss_weights(ctx):
    logits, y, w = _loss_case(5)
    w[::2] = 0
    assert_close(_loss_value(ctx["subject"], logits, y, w, what="with some zero weights"),
                 float(ref.weighted_bce_loss(logits, y, w)), "with half of the weights zero")


def _loss_gradient(ctx):
    expect_same_gradient(ctx["subject"], ref.weighted_bce_loss, _loss_case(6), "weighted BCE", "logits")


LOSS_CHECK = Check("weighted_bce_loss", [
    Property("returns a scalar tensor", 0.5, _loss_scalar),
    Property("matches weighted BCE on random inputs", 2, _loss_matches),
    Property("stable for large logits", 1, _loss_stable),
    Property("zero weights remove samples", 1, _loss_weights),
    Property("gradient is that of weighted BCE", 0.5, _loss_gradient),
])

CHECKS = {"MLP": MLP_CHECK, "CNN": CNN_CHECK, "LSTMClassifier": LSTM_CHECK,
          "weighted_accuracy": WACC_CHECK, "weighted_bce_loss": LOSS_CHECK}
