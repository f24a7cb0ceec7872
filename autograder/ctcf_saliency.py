"""Hidden checks for the `ctcf_saliency` assignment."""
from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import torch
from sklearn.metrics import roc_auc_score
from torch import nn

from course_lib.data.ctcf_synthetic import CTCFGenerator
from course_lib.reference import ctcf_saliency as ref

from .core import Check, CheckFailed, Property
from .functions import call, cuda_or_skip
from .models import LayerRule, LearnTask, ModelSpec, find_modules, model_check

SEQ_LEN = 200


def _one_hot_batch(batch_size: int, gen: torch.Generator, seq_len: int = SEQ_LEN) -> torch.Tensor:
    idx = torch.randint(0, 4, (batch_size, seq_len), generator=gen)
    return nn.functional.one_hot(idx, 4).float()


def _inputs(batch_size: int, gen: torch.Generator):
    return (_one_hot_batch(batch_size, gen),)


# ---------------------------------------------------------------- models
def _planted_ctcf_data(gen: torch.Generator, n_train: int = 2048, n_valid: int = 512):
    """The assignment's task in small: every positive carries a CTCF site, negatives are dinucleotide shuffles."""
    rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen)))
    seqs, y, _ = CTCFGenerator(site_rate=1.0).sample(n_train + n_valid, rng)
    X = torch.from_numpy(np.eye(4, dtype=np.float32)[seqs])
    yt = torch.from_numpy(y.astype(np.float32)).reshape(-1, 1)
    return (X[:n_train], yt[:n_train]), (X[n_train:], yt[n_train:])


def _bce(logits, y):
    return nn.functional.binary_cross_entropy_with_logits(logits, y.reshape(logits.shape))


def _auroc(logits, y) -> float:
    return roc_auc_score(y.numpy().reshape(-1), logits.numpy().reshape(-1))


def _learn(points: float) -> LearnTask:
    """300 Adam steps at lr 3e-3; calibrated on CPU: the references reach AUROC 0.89-0.93 (CTCFNet) and
    0.95-0.97 (CTCFNetRegularized) over three data/initialisation seeds, hence the bar of 0.80."""
    return LearnTask(make_data=_planted_ctcf_data, loss=_bce, metric=_auroc, bar=0.80, steps=300, batch_size=64,
                     lr=3e-3, metric_name="AUROC", points=points)


def _conv_rule(model):
    convs = [m for m in find_modules(model, nn.Conv1d) if m.in_channels == 4]
    if not convs:
        return "expected an nn.Conv1d with in_channels=4"
    conv = convs[0]
    if conv.out_channels != 24:
        return f"the convolution has {conv.out_channels} filters, expected 24"
    if tuple(conv.kernel_size) != (19,):
        return f"the convolution's kernel size is {conv.kernel_size[0]}, expected 19"
    if conv.padding not in ("same", (9,)):
        return f"the convolution's padding is {conv.padding!r}, expected 'same' (the output keeps length L)"
    return None


def _pool_rule(model):
    pools = find_modules(model, nn.MaxPool1d)
    if not pools:
        return "no nn.MaxPool1d layer found"
    sizes = [p.kernel_size if isinstance(p.kernel_size, int) else p.kernel_size[0] for p in pools]
    return None if 25 in sizes else f"max-pooling window {sizes[0]}, expected 25"


def _dense_rule(model):
    return None if any(m.out_features == 64 for m in find_modules(model, nn.Linear)) else \
        "expected a dense layer of 64 units (nn.Linear with out_features=64)"


def _logit_rule(model):
    """Raising the output layer's bias by 10 must raise the output by 10: no sigmoid at the end."""
    heads = [m for m in find_modules(model, nn.Linear) if m.out_features == 1 and m.bias is not None]
    if not heads:
        return "expected a final nn.Linear with one output (with a bias)"
    model = model.eval()
    X = _one_hot_batch(4, torch.Generator().manual_seed(11)).to(heads[-1].bias.device)
    with torch.no_grad():
        before = model(X)
        heads[-1].bias += 10.0
        after = model(X)
        heads[-1].bias -= 10.0
    if not torch.allclose(after - before, torch.full_like(before, 10.0), atol=1e-3):
        return "the output is not the raw logit of the last layer (is a sigmoid applied in forward?)"
    return None


def _dropout_rule(model):
    rates = sorted(round(m.p, 3) for m in find_modules(model, nn.Dropout))
    if 0.2 not in rates or 0.5 not in rates:
        return f"expected nn.Dropout(0.2) after the convolution block and nn.Dropout(0.5) after the dense layer; " \
               f"found rates {rates}"
    return None


def _dropout_active(model):
    X = _one_hot_batch(8, torch.Generator().manual_seed(12)).to(next(model.parameters()).device)
    with torch.no_grad():
        torch.manual_seed(0)
        model.train()
        a, b = model(X), model(X)
        model.eval()
        c, d = model(X), model(X)
    if torch.allclose(a, b):
        return "in training mode two calls give the same output: is dropout applied?"
    if not torch.allclose(c, d):
        return "in eval mode two calls give different outputs: dropout should be off in eval mode"
    return None


_ARCH_RULES = (
    LayerRule("nn.Conv1d(4 -> 24, kernel 19, same padding)", 1.5, _conv_rule),
    LayerRule("nn.MaxPool1d(25)", 0.5, _pool_rule),
    LayerRule("dense layer of 64 units", 0.5, _dense_rule),
    LayerRule("returns a logit (no sigmoid in forward)", 0.5, _logit_rule),
)


def _spec(title: str, layers: tuple, learn: LearnTask) -> ModelSpec:
    return ModelSpec(title=title, make_inputs=_inputs, output_shape=lambda b: (b, 1), input_names=("X",),
                     inputs=(0,), targets=(1,), layers=layers, learn=learn, param_range=(5_000, 100_000))


CTCFNET_CHECK = model_check(_spec("CTCFNet", _ARCH_RULES, _learn(points=2)))

CTCFNET_REG_CHECK = model_check(_spec(
    "CTCFNetRegularized",
    _ARCH_RULES + (LayerRule("dropout 0.2 and 0.5", 1, _dropout_rule),
                   LayerRule("dropout on in training, off in eval", 0.5, _dropout_active)),
    _learn(points=1.5),
))


# ---------------------------------------------------------------- EarlyStopping
def _stopper(ctx, **kwargs):
    cls = ctx["subject"]
    if not isinstance(cls, type):
        raise CheckFailed("EarlyStopping should be a class")
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return call(lambda: cls(**kwargs), what=f"EarlyStopping({args})")


def _stop_flags(stopper, losses, model):
    flags = []
    for loss in losses:
        flags.append(bool(call(stopper.step, loss, model, what="step(val_loss, model)")))
        if flags[-1]:
            break
    return flags


def _stop_epoch_message(flags, want: int, case: str) -> None:
    got = flags.index(True) if True in flags else None
    if got != want:
        said = "never asked to stop" if got is None else f"asked to stop after epoch {got + 1}"
        raise CheckFailed(f"{case}: it {said}, expected after epoch {want + 1}")


def _es_default_patience(ctx):
    model = nn.Linear(2, 1)
    losses = [1.0, 0.8, 0.7] + [0.75 + 0.01 * i for i in range(10)]
    _stop_epoch_message(_stop_flags(_stopper(ctx), losses, model), 2 + 5,
                        "EarlyStopping() with the loss rising after epoch 3")


def _es_patience_argument(ctx):
    model = nn.Linear(2, 1)
    losses = [1.0, 0.9, 0.95, 0.97, 0.99, 1.0]
    _stop_epoch_message(_stop_flags(_stopper(ctx, patience=2), losses, model), 3,
                        "EarlyStopping(patience=2) with the best loss at epoch 2")


def _es_reset(ctx):
    model = nn.Linear(2, 1)
    losses = [1.0, 1.1, 1.2, 0.9, 1.0, 1.0, 1.0, 1.0]
    _stop_epoch_message(_stop_flags(_stopper(ctx, patience=3), losses, model), 6,
                        "EarlyStopping(patience=3) when a new best loss at epoch 4 should restart the count")


def _es_restores(ctx):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    stopper = _stopper(ctx, patience=3)
    snapshots = []
    losses = [1.0, 0.6, 0.8, 0.9, 0.95]
    X = torch.randn(16, 4)
    for loss in losses:  # train in place between epochs, as a real loop does
        out = model(X).pow(2).mean()
        opt.zero_grad()
        out.backward()
        opt.step()
        snapshots.append({k: v.clone() for k, v in model.state_dict().items()})
        if call(stopper.step, loss, model, what="step(val_loss, model)"):
            break
    call(stopper.restore, model, what="restore(model)")
    best = snapshots[1]
    if not all(torch.equal(v, best[k]) for k, v in model.state_dict().items()):
        last = snapshots[-1]
        if all(torch.equal(v, last[k]) for k, v in model.state_dict().items()):
            raise CheckFailed("after restore(model) the model still has the last epoch's weights: restore should "
                              "load a copy of the best epoch's weights taken at that epoch "
                              "(copy.deepcopy of the state dict, not the state dict itself)")
        raise CheckFailed("after restore(model) the weights are not those of the epoch with the lowest loss")


EARLY_STOPPING_CHECK = Check("EarlyStopping", [
    Property("EarlyStopping() stops 5 epochs after the best one", 1, _es_default_patience),
    Property("respects the patience argument", 1, _es_patience_argument),
    Property("a new best loss restarts the count", 1, _es_reset),
    Property("restore(model) brings back the best epoch's weights", 2, _es_restores),
])


# ---------------------------------------------------------------- saliency_map
def _as_array(value, what: str = "saliency_map") -> np.ndarray:
    if torch.is_tensor(value):
        return value.detach().float().cpu().numpy()
    try:
        return np.asarray(value, dtype=np.float64)
    except Exception:
        raise CheckFailed(f"{what} returned {type(value).__name__}, expected a tensor or array") from None


def _saliency_model(dropout: bool, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return ref.CTCFNetRegularized() if dropout else ref.CTCFNet()


def _saliency(ctx, model, X) -> np.ndarray:
    return _as_array(call(ctx["subject"], model, X, what="saliency_map(model, X)"))


def _sal_shape(ctx):
    model = _saliency_model(False).eval()
    for n in (1, 3):
        X = _one_hot_batch(n, torch.Generator().manual_seed(n))
        got = _saliency(ctx, model, X)
        if got.shape != (n, SEQ_LEN, 4):
            raise CheckFailed(f"for X of shape {tuple(X.shape)} it returned shape {got.shape}, "
                              f"expected {(n, SEQ_LEN, 4)}")


def _sal_matches(ctx):
    model = _saliency_model(False, seed=1).eval()
    X = _one_hot_batch(6, torch.Generator().manual_seed(20))
    got = _saliency(ctx, model, X)
    want = ref.saliency_map(model, X).numpy()
    if got.shape != want.shape:
        raise CheckFailed(f"shape {got.shape}, expected {want.shape}")
    if np.allclose(got, want, rtol=1e-3, atol=1e-6):
        return None
    with torch.no_grad():
        p = torch.sigmoid(model(X)).numpy().reshape(-1, 1, 1)
    if np.allclose(got, want * p * (1 - p), rtol=1e-3, atol=1e-6):
        raise CheckFailed("this is the gradient of sigmoid(output); take the gradient of the logit itself")
    if np.allclose(np.abs(got), np.abs(want), rtol=1e-3, atol=1e-6):
        raise CheckFailed("the values have the right size but not the right sign: keep the gradient's sign")
    raise CheckFailed("the values differ from the gradient of the model's output with respect to X")


def _sal_eval_mode(ctx):
    model = _saliency_model(True, seed=2)
    X = _one_hot_batch(4, torch.Generator().manual_seed(21))
    torch.manual_seed(3)
    from_train = _saliency(ctx, model.train(), X)
    from_eval = _saliency(ctx, model.eval(), X)
    if from_train.shape != from_eval.shape or not np.allclose(from_train, from_eval, rtol=1e-3, atol=1e-6):
        raise CheckFailed("given a model in training mode, the saliency changes with dropout: "
                          "call model.eval() before computing the gradient")


def _sal_restores_mode(ctx):
    X = _one_hot_batch(2, torch.Generator().manual_seed(22))
    for mode in (True, False):
        model = _saliency_model(True, seed=4).train(mode)
        _saliency(ctx, model, X)
        if model.training != mode:
            name = "training" if mode else "eval"
            raise CheckFailed(f"a model given in {name} mode comes back in "
                              f"{'training' if model.training else 'eval'} mode: put it back as it was")


def _sal_gpu(ctx):
    device = cuda_or_skip()
    model = _saliency_model(False, seed=5).to(device).eval()
    X = _one_hot_batch(3, torch.Generator().manual_seed(23)).to(device)
    got = _saliency(ctx, model, X)
    want = ref.saliency_map(model, X).cpu().numpy()
    if not np.allclose(got, want, rtol=1e-3, atol=1e-5):
        raise CheckFailed("with the model and X on the GPU the values differ from the gradient")


SALIENCY_CHECK = Check("saliency_map", [
    Property("returns shape (N, L, 4)", 1, _sal_shape),
    Property("equals the gradient of the logit with respect to X", 2, _sal_matches),
    Property("computed in eval mode (dropout off)", 1.5, _sal_eval_mode),
    Property("leaves the model in the mode it was given in", 1, _sal_restores_mode),
    Property("works with the model and X on the GPU", 0.5, _sal_gpu),
])


# ---------------------------------------------------------------- dinucleotide_shuffle
def _dinucleotides(seq: str) -> Counter:
    return Counter(seq[i:i + 2] for i in range(len(seq) - 1))


def _random_dna(rng: np.random.Generator, n: int, gc: float) -> str:
    p = np.array([1 - gc, gc, gc, 1 - gc]) / 2
    return "".join(rng.choice(list("ACGT"), size=n, p=p))


def _shuffle(ctx, seq: str, seed: int) -> str:
    out = call(ctx["subject"], seq, np.random.default_rng(seed), what="dinucleotide_shuffle(seq, rng)")
    if not isinstance(out, str):
        raise CheckFailed(f"returned {type(out).__name__}, expected a str")
    return out


def _shuf_letters(ctx):
    rng = np.random.default_rng(0)
    for n in (2, 10, 101):
        seq = _random_dna(rng, n, 0.5)
        out = _shuffle(ctx, seq, n)
        if sorted(out) != sorted(seq):
            raise CheckFailed(f"for a sequence of length {n} the result is not a rearrangement of its letters")


def _shuf_counts(ctx):
    rng = np.random.default_rng(1)
    for i in range(40):
        seq = _random_dna(rng, int(rng.integers(3, 250)), float(rng.uniform(0.2, 0.8)))
        out = _shuffle(ctx, seq, i)
        if _dinucleotides(out) != _dinucleotides(seq):
            raise CheckFailed(f"the dinucleotide counts change (e.g. for a sequence of length {len(seq)})")


def _shuf_random(ctx):
    seq = _random_dna(np.random.default_rng(2), 200, 0.5)
    a, b = _shuffle(ctx, seq, 1), _shuffle(ctx, seq, 2)
    if a == seq or a == b:
        raise CheckFailed("the shuffle returns the same sequence for different random generators")
    if _shuffle(ctx, seq, 7) != _shuffle(ctx, seq, 7):
        raise CheckFailed("two generators with the same seed give different results: draw from `rng` only")


def _shuf_uniform(ctx):
    """Every sequence with the same letters and dinucleotides must be about equally likely."""
    seq = "ACATACAGA"  # 12 arrangements share its letter and dinucleotide counts
    target = _dinucleotides(seq)
    options = {"".join(p) for p in itertools.permutations(seq)}
    options = {s for s in options if _dinucleotides(s) == target}
    draws = Counter(_shuffle(ctx, seq, 1000 + i) for i in range(60 * len(options)))
    if set(draws) - options:
        raise CheckFailed("some results do not keep the dinucleotide counts")
    expected = 60.0
    chi2 = sum((draws.get(s, 0) - expected) ** 2 / expected for s in options)
    from scipy.stats import chi2 as chi2_dist
    if chi2_dist.sf(chi2, len(options) - 1) < 1e-4:
        raise CheckFailed(f"the {len(options)} possible shuffles of a short sequence are not equally likely")


SHUFFLE_CHECK = Check("dinucleotide_shuffle", [
    Property("returns a rearrangement of the letters", 0.5, _shuf_letters),
    Property("keeps every dinucleotide count", 2, _shuf_counts),
    Property("random, and reproducible from the rng", 0.5, _shuf_random),
    Property("all valid shuffles equally likely", 1, _shuf_uniform, budget_s=60),
])

CHECKS = {"CTCFNet": CTCFNET_CHECK, "CTCFNetRegularized": CTCFNET_REG_CHECK, "EarlyStopping": EARLY_STOPPING_CHECK,
          "saliency_map": SALIENCY_CHECK, "dinucleotide_shuffle": SHUFFLE_CHECK}
