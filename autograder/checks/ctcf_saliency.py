"""Hidden checks for the `ctcf_saliency` assignment."""
from __future__ import annotations

import itertools
from collections import Counter

import numpy as np
import pytest
import torch
from scipy.stats import chi2 as chi2_dist
from sklearn.metrics import roc_auc_score
from torch import nn

from course_lib.data.ctcf_synthetic import CTCFGenerator
from course_lib.reference import ctcf_saliency as ref
from gradeworker import standins

from ..expect import as_array, cuda
from ..modeltests import LayerRule, LearnTask, ModelSpec, model_tests
from ..outcomes import CheckFailed, StudentError
from ..remote import Opaque, Recipe
from ..rubric import graded, rubric

SEQ_LEN = 200


def _one_hot_batch(batch_size: int, gen: torch.Generator, seq_len: int = SEQ_LEN) -> torch.Tensor:
    idx = torch.randint(0, 4, (batch_size, seq_len), generator=gen)
    return nn.functional.one_hot(idx, 4).float()


def _inputs(batch_size: int, gen: torch.Generator):
    return (_one_hot_batch(batch_size, gen),)


def _same(a, b, **tol) -> bool:
    """Two answers are tensors of one shape with (nearly) equal values."""
    return (torch.is_tensor(a) and torch.is_tensor(b) and a.shape == b.shape and "meta" not in (a.device.type,
            b.device.type) and torch.allclose(a.float(), b.float(), **tol))


# ---------------------------------------------------------------- models
def _planted_ctcf_data(gen: torch.Generator, n_train: int = 2048, n_valid: int = 512):
    """The assignment's task in small: every positive carries a CTCF site, negatives are exact dinucleotide
    shuffles of site carriers (made here with the reference shuffle, which the student build does not have)."""
    rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen)))
    seqs, y, _ = CTCFGenerator(site_rate=1.0).sample(n_train + n_valid, rng, shuffle=ref.shuffle_indices)
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


def _shown(value):
    """A layer setting as the student wrote it: lists from the worker back to tuples."""
    return tuple(value) if isinstance(value, list) else value


def _conv_rule(desc, model):
    convs = [m.attrs for m in desc.find("Conv1d") if m.attrs.get("in_channels") == 4]
    if not convs:
        return "expected an nn.Conv1d with in_channels=4"
    conv = convs[0]
    if conv.get("out_channels") != 24:
        return f"the convolution has {conv.get('out_channels')} filters, expected 24"
    kernel = _shown(conv.get("kernel_size"))
    if kernel != (19,):
        return f"the convolution's kernel size is {kernel[0] if isinstance(kernel, tuple) else kernel}, expected 19"
    padding = _shown(conv.get("padding"))
    if padding not in ("same", (9,)):
        return f"the convolution's padding is {padding!r}, expected 'same' (the output keeps length L)"
    return None


def _pool_rule(desc, model):
    pools = desc.find("MaxPool1d")
    if not pools:
        return "no nn.MaxPool1d layer found"
    sizes = [_shown(p.attrs.get("kernel_size")) for p in pools]
    sizes = [s[0] if isinstance(s, tuple) and s else s for s in sizes]
    return None if 25 in sizes else f"max-pooling window {sizes[0]}, expected 25"


def _dense_rule(desc, model):
    return None if any(m.attrs.get("out_features") == 64 for m in desc.find("Linear")) else \
        "expected a dense layer of 64 units (nn.Linear with out_features=64)"


def _logit_rule(desc, model):
    """Raising the output layer's bias by 10 must raise the output by 10: no sigmoid at the end."""
    heads = [m for m in desc.find("Linear") if m.attrs.get("out_features") == 1 and m.attrs.get("has_bias")]
    key = f"{heads[-1].name}.bias" if heads and heads[-1].name else "bias"
    state = model.state() if heads else {}
    if not torch.is_tensor(state.get(key)):
        return "expected a final nn.Linear with one output (with a bias)"
    bias = state[key]
    X = _one_hot_batch(4, torch.Generator().manual_seed(11)).to(model.student.device)
    before = model.forward(X)
    model.load_state({key: bias + 10.0})
    after = model.forward(X)
    model.load_state({key: bias})
    if not (torch.is_tensor(before) and torch.is_tensor(after) and before.shape == after.shape) or \
            not _same(after - before, torch.full_like(before, 10.0), atol=1e-3):
        return "the output is not the raw logit of the last layer (is a sigmoid applied in forward?)"
    return None


def _dropout_rule(desc, model):
    rates = sorted(round(m.attrs["p"], 3) for m in desc.find("Dropout")
                   if isinstance(m.attrs.get("p"), (int, float)) and not isinstance(m.attrs.get("p"), bool))
    if 0.2 not in rates or 0.5 not in rates:
        return f"expected nn.Dropout(0.2) after the convolution block and nn.Dropout(0.5) after the dense layer; " \
               f"found rates {rates}"
    return None


def _dropout_active(desc, model):
    X = _one_hot_batch(8, torch.Generator().manual_seed(12)).to(model.student.device)
    a, b = (model.forward(X, mode="train", seed=s) for s in (0, 1))    # two calls, two dropout draws
    c, d = (model.forward(X, mode="eval", seed=s) for s in (0, 1))
    if _same(a, b):
        return "in training mode two calls give the same output: is dropout applied?"
    if not _same(c, d):
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


TestCTCFNet = model_tests(_spec("CTCFNet", _ARCH_RULES, _learn(points=2)))

TestCTCFNetRegularized = model_tests(_spec(
    "CTCFNetRegularized",
    _ARCH_RULES + (LayerRule("dropout 0.2 and 0.5", 1, _dropout_rule),
                   LayerRule("dropout on in training, off in eval", 0.5, _dropout_active)),
    _learn(points=1.5),
))


# ---------------------------------------------------------------- EarlyStopping
def _stopper(student, **kwargs):
    """A fresh EarlyStopping(**kwargs) in the worker."""
    if not student.defined("EarlyStopping").get("class"):
        raise CheckFailed("EarlyStopping should be a class")
    args = ", ".join(f"{k}={v}" for k, v in kwargs.items())
    return student.cls("EarlyStopping").build(what=f"EarlyStopping({args})", **kwargs)


def _flag(value) -> bool:
    """step()'s answer as a bool (a bool, a number or a one-element tensor)."""
    if torch.is_tensor(value) and value.numel() == 1 and value.device.type != "meta":
        return bool(value.item())
    if isinstance(value, (bool, int, float, np.bool_, np.number)) or value is None:
        return bool(value)
    shown = value.type_name if isinstance(value, Opaque) else type(value).__name__
    raise CheckFailed(f"step(val_loss, model) returned {shown}, expected True or False")


def _stop_flags(stopper, losses, model):
    step = stopper.method("step")
    flags = []
    for loss in losses:
        flags.append(_flag(step(loss, model, what="step(val_loss, model)")))
        if flags[-1]:
            break
    return flags


def _stop_epoch_message(flags, want: int, case: str) -> None:
    got = flags.index(True) if True in flags else None
    if got != want:
        said = "never asked to stop" if got is None else f"asked to stop after epoch {got + 1}"
        raise CheckFailed(f"{case}: it {said}, expected after epoch {want + 1}")


def _tiny_model(student, sizes=(2, 1)):
    return student.standin("TinyMLP", seed=0, sizes=sizes)


def _same_state(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(torch.equal(a[k].cpu(), b[k].cpu()) for k in a)


@graded("EarlyStopping")
class TestEarlyStopping:
    @rubric(1, "EarlyStopping() stops 5 epochs after the best one")
    def test_default_patience(self, student):
        losses = [1.0, 0.8, 0.7] + [0.75 + 0.01 * i for i in range(10)]
        _stop_epoch_message(_stop_flags(_stopper(student), losses, _tiny_model(student)), 2 + 5,
                            "EarlyStopping() with the loss rising after epoch 3")

    @rubric(1, "respects the patience argument")
    def test_patience_argument(self, student):
        losses = [1.0, 0.9, 0.95, 0.97, 0.99, 1.0]
        _stop_epoch_message(_stop_flags(_stopper(student, patience=2), losses, _tiny_model(student)), 3,
                            "EarlyStopping(patience=2) with the best loss at epoch 2")

    @rubric(1, "a new best loss restarts the count")
    def test_reset(self, student):
        losses = [1.0, 1.1, 1.2, 0.9, 1.0, 1.0, 1.0, 1.0]
        _stop_epoch_message(_stop_flags(_stopper(student, patience=3), losses, _tiny_model(student)), 6,
                            "EarlyStopping(patience=3) when a new best loss at epoch 4 should restart the count")

    @rubric(2, "restore(model) brings back the best epoch's weights")
    def test_restores(self, student):
        stopper = _stopper(student, patience=3)
        model = _tiny_model(student, sizes=(4, 3, 1))
        opt = student.make("optimizer", kind="SGD", params_of=model, lr=0.1)
        X = [student.put(torch.randn(16, 4, generator=torch.Generator().manual_seed(0)))]
        rows = torch.arange(16)
        step = stopper.method("step")
        snapshots = []
        for loss in [1.0, 0.6, 0.8, 0.9, 0.95]:   # train in place between epochs, as a real loop does
            out = model.forward_keep(X, rows)
            leaf = out.detach().requires_grad_(True)
            grad, = torch.autograd.grad(leaf.pow(2).mean(), leaf)
            student.request("backward_step", seed=None, optimizer=opt, grad=grad)
            snapshots.append(model.state())
            if _flag(step(loss, model, what="step(val_loss, model)")):
                break
        stopper.method("restore")(model, what="restore(model)")
        now = model.state()
        if not _same_state(now, snapshots[1]):
            if _same_state(now, snapshots[-1]):
                raise CheckFailed("after restore(model) the model still has the last epoch's weights: restore "
                                  "should load a copy of the best epoch's weights taken at that epoch "
                                  "(copy.deepcopy of the state dict, not the state dict itself)")
            raise CheckFailed("after restore(model) the weights are not those of the epoch with the lowest loss")


# ---------------------------------------------------------------- saliency_map
SALIENCY_DROPOUT = 0.5


def _saliency_model(student, dropout: bool, seed: int = 0, training: bool = False):
    """A stand-in classifier in the worker (SaliencyNet: one logit per sequence), in the given mode."""
    model = student.standin("SaliencyNet", seed=seed, dropout=SALIENCY_DROPOUT if dropout else 0.0)
    return model.set_mode(training)


def _judges_model(dropout: bool, seed: int = 0) -> nn.Module:
    """The judge's own copy of that stand-in, in eval mode."""
    return standins.build("SaliencyNet", seed=seed, dropout=SALIENCY_DROPOUT if dropout else 0.0).eval()


@graded("saliency_map")
class TestSaliencyMap:
    @pytest.fixture
    def saliency(self, student):
        student.defined("saliency_map")
        fn = student.function("saliency_map")
        return lambda model, X, seed=0: as_array(fn(model, X, what="saliency_map(model, X)", seed=seed),
                                                 "saliency_map")

    @rubric(1, "returns shape (N, L, 4)")
    def test_shape(self, student, saliency):
        model = _saliency_model(student, False)
        for n in (1, 3):
            X = _one_hot_batch(n, torch.Generator().manual_seed(n))
            got = saliency(model, X)
            if got.shape != (n, SEQ_LEN, 4):
                raise CheckFailed(f"for X of shape {tuple(X.shape)} it returned shape {got.shape}, "
                                  f"expected {(n, SEQ_LEN, 4)}")

    @rubric(2, "equals the gradient of the logit with respect to X")
    def test_matches_gradient(self, student, saliency):
        X = _one_hot_batch(6, torch.Generator().manual_seed(20))
        got = saliency(_saliency_model(student, False, seed=1), X)
        mine = _judges_model(False, seed=1)
        want = ref.saliency_map(mine, X).numpy()
        if got.shape != want.shape:
            raise CheckFailed(f"shape {got.shape}, expected {want.shape}")
        if np.allclose(got, want, rtol=1e-3, atol=1e-6):
            return
        with torch.no_grad():
            p = torch.sigmoid(mine(X)).numpy().reshape(-1, 1, 1)
        if np.allclose(got, want * p * (1 - p), rtol=1e-3, atol=1e-6):
            raise CheckFailed("this is the gradient of sigmoid(output); take the gradient of the logit itself")
        if np.allclose(np.abs(got), np.abs(want), rtol=1e-3, atol=1e-6):
            raise CheckFailed("the values have the right size but not the right sign: keep the gradient's sign")
        raise CheckFailed("the values differ from the gradient of the model's output with respect to X")

    @rubric(1.5, "computed in eval mode (dropout off)")
    def test_eval_mode(self, student, saliency):
        model = _saliency_model(student, True, seed=2)
        X = _one_hot_batch(4, torch.Generator().manual_seed(21))
        from_train = saliency(model.set_mode(True), X, seed=3)
        from_eval = saliency(model.set_mode(False), X, seed=3)
        if from_train.shape != from_eval.shape or not np.allclose(from_train, from_eval, rtol=1e-3, atol=1e-6):
            raise CheckFailed("given a model in training mode, the saliency changes with dropout: "
                              "call model.eval() before computing the gradient")

    @rubric(1, "leaves the model in the mode it was given in")
    def test_restores_mode(self, student, saliency):
        X = _one_hot_batch(2, torch.Generator().manual_seed(22))
        for mode in (True, False):
            model = _saliency_model(student, True, seed=4, training=mode)
            saliency(model, X)
            training = model.training
            if training != mode:
                name = "training" if mode else "eval"
                raise CheckFailed(f"a model given in {name} mode comes back in "
                                  f"{'training' if training else 'eval'} mode: put it back as it was")

    @rubric(0.5, "works with the model and X on the GPU", gpu=True)
    def test_gpu(self, student, saliency):
        X = _one_hot_batch(3, torch.Generator().manual_seed(23))
        got = saliency(_saliency_model(student, False, seed=5).to("cuda"), cuda(X))
        mine = _judges_model(False, seed=5).to("cuda")
        want = ref.saliency_map(mine, cuda(X)).cpu().numpy()
        if got.shape != want.shape or not np.allclose(got, want, rtol=1e-3, atol=1e-5):
            raise CheckFailed("with the model and X on the GPU the values differ from the gradient")


# ---------------------------------------------------------------- dinucleotide_shuffle
def _dinucleotides(seq: str) -> Counter:
    return Counter(seq[i:i + 2] for i in range(len(seq) - 1))


def _random_dna(rng: np.random.Generator, n: int, gc: float) -> str:
    p = np.array([1 - gc, gc, gc, 1 - gc]) / 2
    return "".join(rng.choice(list("ACGT"), size=n, p=p))


def _shuffles(student, calls: list):
    """dinucleotide_shuffle(seq, np.random.default_rng(seed)) for each (seq, seed), each answer checked to be a
    str as it is taken. All calls go in one request, so that a shuffle drawing from NumPy's global RNG
    instead of `rng` gets different draws call after call, as it would in a notebook."""
    student.defined("dinucleotide_shuffle")
    answers = student.function("dinucleotide_shuffle").many(
        [(seq, Recipe("np_rng", {"seed": seed})) for seq, seed in calls], what="dinucleotide_shuffle(seq, rng)")
    for out in answers:
        if isinstance(out, StudentError):
            raise out
        if not isinstance(out, str):
            raise CheckFailed(f"returned {out.type_name if isinstance(out, Opaque) else type(out).__name__}, "
                              "expected a str")
        yield out


@graded("dinucleotide_shuffle")
class TestDinucleotideShuffle:
    @rubric(0.5, "returns a rearrangement of the letters")
    def test_letters(self, student):
        rng = np.random.default_rng(0)
        seqs = {n: _random_dna(rng, n, 0.5) for n in (2, 10, 101)}
        for (n, seq), out in zip(seqs.items(), _shuffles(student, [(seq, n) for n, seq in seqs.items()])):
            if sorted(out) != sorted(seq):
                raise CheckFailed(f"for a sequence of length {n} the result is not a rearrangement of its letters")

    @rubric(2, "keeps every dinucleotide count")
    def test_counts(self, student):
        rng = np.random.default_rng(1)
        seqs = [_random_dna(rng, int(rng.integers(3, 250)), float(rng.uniform(0.2, 0.8))) for _ in range(40)]
        for seq, out in zip(seqs, _shuffles(student, [(seq, i) for i, seq in enumerate(seqs)])):
            if _dinucleotides(out) != _dinucleotides(seq):
                raise CheckFailed(f"the dinucleotide counts change (e.g. for a sequence of length {len(seq)})")

    @rubric(0.5, "random, and reproducible from the rng")
    def test_random(self, student):
        seq = _random_dna(np.random.default_rng(2), 200, 0.5)
        a, b, c, d = _shuffles(student, [(seq, 1), (seq, 2), (seq, 7), (seq, 7)])
        if a == seq or a == b:
            raise CheckFailed("the shuffle returns the same sequence for different random generators")
        if c != d:
            raise CheckFailed("two generators with the same seed give different results: draw from `rng` only")

    @rubric(1, "all valid shuffles equally likely", budget_s=60)
    def test_uniform(self, student):
        """Every sequence with the same letters and dinucleotides must be about equally likely."""
        seq = "ACATACAGA"  # 12 arrangements share its letter and dinucleotide counts
        target = _dinucleotides(seq)
        options = {"".join(p) for p in itertools.permutations(seq)}
        options = {s for s in options if _dinucleotides(s) == target}
        draws = Counter(_shuffles(student, [(seq, 1000 + i) for i in range(60 * len(options))]))
        if set(draws) - options:
            raise CheckFailed("some results do not keep the dinucleotide counts")
        expected = 60.0
        chi2 = sum((draws.get(s, 0) - expected) ** 2 / expected for s in options)
        if chi2_dist.sf(chi2, len(options) - 1) < 1e-4:
            raise CheckFailed(f"the {len(options)} possible shuffles of a short sequence are not equally likely")
