"""Hidden checks for the `rnacompete` assignment."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from course_lib.reference import rnacompete as ref
from gradeworker import standins

from ..expect import as_float, assert_close, cuda, expect_same_gradient, expect_scalar_tensor
from ..modeltests import LayerRule, LearnTask, ModelSpec, has_layer, model_tests
from ..outcomes import CheckFailed, NotChecked, StudentError
from ..rubric import graded, rubric, step

SEQ_LEN = 41
SITE = (3, 2, 1, 0, 3, 2)          # UGCAUG as A C G U indices


# ---------------------------------------------------------------- planted-UGCAUG regression task
def _random_probes(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 4, (n, SEQ_LEN))


def _planted_site_data(gen: torch.Generator, n_train: int = 3072, n_valid: int = 1024):
    """Intensity = number of UGCAUG sites (0, 1 or 2) planted at positions 24-35, plus noise; 10 % masked.

    The sites sit in the 3' half, beyond the first window of a 24-wide convolution, so that
    a model must look at every position (an LSTM read to its last step, or a max over
    positions). Masked targets are NaN: a loss that does not mask them cannot learn.
    """
    rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen)))
    n = n_train + n_valid
    seqs = _random_probes(rng, n)
    n_sites = rng.choice(3, n, p=[0.5, 0.3, 0.2])
    starts = np.stack([rng.integers(24, 30, n), rng.integers(30, 36, n)], 1)  # two non-overlapping slots
    for slot in range(2):
        rows = np.flatnonzero(n_sites > slot)
        seqs[rows[:, None], starts[rows, slot][:, None] + np.arange(6)] = SITE
    y = n_sites + 0.3 * rng.standard_normal(n)
    mask = (rng.random(n) > 0.1).astype(np.float32)
    y[mask == 0] = np.nan
    x = torch.from_numpy(np.eye(4, dtype=np.float32)[seqs])
    data = (x, torch.from_numpy(y.astype(np.float32)).reshape(-1, 1), torch.from_numpy(mask).reshape(-1, 1))
    return tuple(t[:n_train] for t in data), tuple(t[n_train:] for t in data)


def _spearman_metric(preds, y, mask) -> float:
    keep = mask.reshape(-1) > 0
    value = stats.spearmanr(preds.reshape(-1)[keep].numpy(), y.reshape(-1)[keep].numpy()).statistic
    return value if math.isfinite(value) else -1.0


def _learn(bar: float, points: float, steps: int) -> LearnTask:
    return LearnTask(make_data=_planted_site_data, loss=ref.masked_mse_loss, metric=_spearman_metric, bar=bar,
                     steps=steps, batch_size=64, lr=3e-3, metric_name="Spearman", points=points)


# ---------------------------------------------------------------- models
def _inputs(batch_size: int, gen: torch.Generator):
    idx = torch.randint(0, 4, (batch_size, SEQ_LEN), generator=gen)
    return (nn.functional.one_hot(idx, 4).float(),)


def _motif_conv(desc, model):
    convs = desc.find("Conv2d")
    if not convs:
        return "no nn.Conv2d layer found (the motif detectors)"
    attrs = convs[0].attrs
    kernel = tuple(attrs.get("kernel_size") or ())
    if attrs.get("in_channels") != 1 or kernel[1:2] != (4,):
        return (f"the first nn.Conv2d has in_channels={attrs.get('in_channels')} and kernel_size={kernel}; "
                "expected in_channels=1 and a kernel (motif_len, 4) spanning the 4 bases")
    return None


def _accepts_channel_axis(desc, model):
    x = _inputs(3, torch.Generator().manual_seed(8))[0].to(model.student.device)
    try:
        a, b = model.forward(x), model.forward(x.unsqueeze(1))
    except StudentError as exc:
        return f"forward on a (B, 1, 41, 4) input {exc.type}: accept both (B,41,4) and (B,1,41,4)"
    if not (torch.is_tensor(a) and torch.is_tensor(b) and a.shape == b.shape and a.device.type != "meta"
            and torch.allclose(a, b, atol=1e-5)):
        return "(B, 41, 4) and (B, 1, 41, 4) inputs give different outputs"
    return None


def _stacked_lstm(desc, model):
    lstms = desc.find("LSTM")
    if not lstms:
        return "no nn.LSTM layer found"
    attrs = lstms[0].attrs
    if not attrs.get("num_layers", 1) >= 2:
        return f"nn.LSTM has num_layers={attrs.get('num_layers')}; a stacked LSTM has at least 2"
    if attrs.get("batch_first") is not True:
        return "nn.LSTM should be created with batch_first=True"
    return None


def _conv_rules():
    return (LayerRule("nn.Conv2d(1, num_filters, kernel (motif_len, 4))", 1, _motif_conv),
            LayerRule("accepts (B, 41, 4) and (B, 1, 41, 4) inputs", 0.5, _accepts_channel_axis))


def _spec(title: str, layers: tuple, learn: LearnTask) -> ModelSpec:
    return ModelSpec(title=title, make_inputs=_inputs, output_shape=lambda b: (b, 1), input_names=("x",),
                     inputs=(0,), targets=(1, 2), layers=layers, learn=learn, param_range=(1_000, 2_000_000))


TestDeepBindCNN = model_tests(_spec(
    "DeepBindCNN",
    layers=_conv_rules() + (LayerRule("uses dropout", 0.5, has_layer("Dropout", message="no nn.Dropout layer found")),),
    learn=_learn(bar=0.6, points=2, steps=150),
))

TestConvLSTM = model_tests(_spec(
    "ConvLSTM",
    layers=_conv_rules() + (LayerRule("stacked nn.LSTM (num_layers >= 2, batch_first=True)", 1, _stacked_lstm),),
    learn=_learn(bar=0.6, points=1.5, steps=150),
))


# ---------------------------------------------------------------- the loss and the metric
def _defined_function(student, name: str):
    """The student's function `name` (CheckFailed when the notebook does not define it)."""
    student.defined(name)
    return student.function(name)


def _number_valued(student, name: str):
    """Call `name` in the worker; its answer as a float (CheckFailed when it is not a number)."""
    fn = _defined_function(student, name)
    return lambda *args, what: as_float(fn(*args, what=what), name)


# ---------------------------------------------------------------- masked_mse_loss
def _mse_case(seed: int, n: int = 40, shape: str = "column", dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    preds = torch.randn(n, 1, generator=g).to(dtype)
    targets = torch.randn(n, 1, generator=g).to(dtype)
    mask = (torch.rand(n, 1, generator=g) > 0.3).float()
    if shape == "flat":
        preds, targets, mask = preds.reshape(-1), targets.reshape(-1), mask.reshape(-1)
    return preds, targets, mask


@graded("masked_mse_loss")
class TestMaskedMSELoss:
    @pytest.fixture
    def loss(self, student):
        return _number_valued(student, "masked_mse_loss")

    @rubric(0.5, "returns a scalar tensor")
    def test_scalar(self, student):
        out = _defined_function(student, "masked_mse_loss")(*_mse_case(0),
                                                            what="masked_mse_loss(preds, targets, mask)")
        expect_scalar_tensor(out, "masked_mse_loss")

    @rubric(2, "matches the masked mean squared error across shapes and dtypes")
    def test_matches(self, loss):
        cases = {"(N, 1) float32": dict(), "(N,) float32": dict(shape="flat"),
                 "(N, 1) float64": dict(dtype=torch.float64), "a batch of 3": dict(n=3)}
        for seed, (label, kw) in enumerate(cases.items()):
            args = _mse_case(seed, **kw)
            assert_close(loss(*args, what=f"on {label} inputs"), float(ref.masked_mse_loss(*args)),
                         f"on random {label} inputs")

    @rubric(1.5, "masked entries (even nan targets) do not count; boolean masks work")
    def test_ignores_masked(self, loss):
        preds, targets, mask = _mse_case(5)
        want = float(ref.masked_mse_loss(preds, targets, mask))
        messy = targets.clone()
        messy[mask == 0] = float("nan")
        got = loss(preds, messy, mask, what="with nan targets where mask is 0")
        assert_close(got, want, "with nan (missing) targets where mask is 0: masked entries must not count")
        got = loss(preds, targets, mask.bool(), what="with a boolean mask")
        assert_close(got, want, "with a boolean mask")

    @rubric(0.5, "an all-zero mask gives 0, not nan")
    def test_empty_mask(self, loss):
        preds, targets, _ = _mse_case(6, n=8)
        got = loss(preds, targets, torch.zeros(8, 1), what="with an all-zero mask")
        if got != 0.0:
            raise CheckFailed(f"an all-zero mask should give a loss of 0 (nothing to fit), got {got!r}")

    @rubric(0.5, "gradient is that of the masked mean")
    def test_gradient(self, student):
        expect_same_gradient(_defined_function(student, "masked_mse_loss"), ref.masked_mse_loss, _mse_case(7),
                             "the masked mean", "predictions")


# ---------------------------------------------------------------- masked_spearman
def _scipy_spearman(preds, targets, mask) -> float:
    keep = np.asarray(mask).reshape(-1) > 0
    return float(stats.spearmanr(np.asarray(preds).reshape(-1)[keep], np.asarray(targets).reshape(-1)[keep]).statistic)


def _sp_case(seed: int, n: int = 60, ties: bool = False):
    g = torch.Generator().manual_seed(seed)
    if ties:
        preds = torch.randint(0, 4, (n, 1), generator=g).float()
        targets = torch.randint(0, 5, (n, 1), generator=g).float() + 0.1 * preds
    else:
        preds = torch.randn(n, 1, generator=g)
        targets = preds + torch.randn(n, 1, generator=g) ** 3  # monotone-ish, far from linear
    mask = (torch.rand(n, 1, generator=g) > 0.25).float()
    return preds, targets, mask


@graded("masked_spearman")
class TestMaskedSpearman:
    @pytest.fixture
    def rho(self, student):
        return _number_valued(student, "masked_spearman")

    @rubric(2, "equals scipy.stats.spearmanr on the masked entries")
    def test_matches_scipy(self, rho):
        for seed in range(3):
            args = _sp_case(seed, n=(60, 500, 7)[seed])
            assert_close(rho(*args, what="on random data"), _scipy_spearman(*args),
                         "on random data (compared with scipy.stats.spearmanr on the masked entries)", abs_=1e-5)

    @rubric(1.5, "ties get average ranks")
    def test_ties(self, rho):
        for seed in range(2):
            args = _sp_case(10 + seed, ties=True)
            assert_close(rho(*args, what="with tied values"), _scipy_spearman(*args),
                         "with tied values (ties share the average of their ranks)", abs_=1e-5)

    @rubric(1, "uses only entries with mask 1")
    def test_masked_only(self, rho):
        preds, targets, mask = _sp_case(20)
        keep = mask.reshape(-1) > 0
        want = rho(preds[keep], targets[keep], torch.ones(int(keep.sum()), 1), what="with every entry valid")
        messy_p, messy_t = preds.clone(), targets.clone()
        messy_p[mask == 0] = 1e6
        messy_t[mask == 0] = -1e6
        got = rho(messy_p, messy_t, mask, what="with garbage in masked entries")
        assert_close(got, want, "changing masked-out entries changed the result: use only entries with mask 1",
                     abs_=1e-6)

    @rubric(0.5, "accepts (N,) or (N,1), float64, boolean masks, tensors that require grad")
    def test_input_types(self, rho):
        """Same value as on (N, 1) float32 tensors with a float mask (correctness itself is checked above)."""
        preds, targets, mask = _sp_case(30)
        want = rho(preds, targets, mask, what="on (N, 1) tensors")
        variants = {"(N,) tensors": (preds.reshape(-1), targets.reshape(-1), mask.reshape(-1)),
                    "float64 tensors": (preds.double(), targets.double(), mask.double()),
                    "a boolean mask": (preds, targets, mask.bool()),
                    "predictions that require grad": (preds.clone().requires_grad_(True), targets, mask)}
        for label, args in variants.items():
            assert_close(rho(*args, what=f"with {label}"), want,
                         f"with {label} (compared with your result on (N, 1) float32 tensors)", abs_=1e-5)

    @rubric(0.5, "fewer than two valid entries: ValueError or 0.0")
    def test_too_few(self, student):
        fn = _defined_function(student, "masked_spearman")
        preds, targets, _ = _sp_case(40, n=6)
        for label, mask in {"one valid entry": torch.tensor([1.0, 0, 0, 0, 0, 0]),
                            "no valid entry": torch.zeros(6)}.items():
            try:
                result = fn(preds, targets, mask.reshape(-1, 1), what=f"with {label}")
            except StudentError as exc:
                if exc.is_a("ValueError"):
                    continue
                if exc.not_implemented:
                    raise CheckFailed("not implemented yet") from None
                raise CheckFailed(f"with {label}: raise ValueError or return 0.0, not {exc.type}") from None
            value = as_float(result, "masked_spearman")
            if value != 0.0:
                raise CheckFailed(f"with {label}: raise ValueError or return 0.0 (and say which), got {value!r}")

    @rubric(0.5, "accepts tensors on the GPU", gpu=True)
    def test_gpu(self, rho):
        preds, targets, mask = _sp_case(50)
        got = rho(*cuda(preds, targets, mask), what="with CUDA tensors")
        assert_close(got, _scipy_spearman(preds, targets, mask), "with CUDA tensors", abs_=1e-5)


# ---------------------------------------------------------------- train
STANDIN = dict(name="MotifRegressor", width=6, filters=8)   # a small model to train: not an exercise's answer
TRAIN_CALL = "train(model, train_loader, valid_loader, epochs=4, lr=0.01, checkpoint=path)"


def _train_data(seed: int = 0):
    """Tiny data where validation intensities are the *opposite* of training ones.

    Training makes validation Spearman worse epoch after epoch, so the best epoch is an early
    one and the final weights differ from the best: only a real copy of the best state dict
    (or a save at the best epoch) keeps them.
    """
    g = torch.Generator().manual_seed(seed)
    (x, y, m), (xv, yv, mv) = _planted_site_data(g, n_train=768, n_valid=256)
    return (x, torch.nan_to_num(y), m), (xv, -torch.nan_to_num(yv), mv)


def _judges_standin(state: dict | None = None) -> nn.Module:
    """The judge's own copy of the stand-in the student's `train` gets."""
    kwargs = {k: v for k, v in STANDIN.items() if k != "name"}
    return standins.build(STANDIN["name"], state=state, seed=0, **kwargs)


@graded("train")
class TestTrain:
    @step(budget_s=60)
    def run(self, student):
        """Call the student's train on a stand-in model and loaders built by recipe; keep plain data only."""
        student.defined("train")
        train, valid = _train_data()
        model = student.standin(STANDIN["name"], seed=0, **{k: v for k, v in STANDIN.items() if k != "name"})
        before = model.state()
        loaders = [student.make("loader", dataset=student.make("tensor_dataset", tensors=list(tensors)),
                                batch_size=size, shuffle=shuffle, seed=0)
                   for tensors, size, shuffle in ((train, 64, True), (valid, 256, False))]
        path = student.scratch_path("best.pt")
        try:
            result = student.function("train")(model, *loaders, epochs=4, lr=0.01, checkpoint=path,
                                               what=TRAIN_CALL)
        except StudentError as exc:
            if exc.not_implemented:
                raise CheckFailed("not implemented yet") from None
            raise CheckFailed(exc.describe()) from None
        try:
            saved, load_error = student.load_tensors(path), None
        except StudentError as exc:   # no file, or not a plain torch file of tensors
            saved, load_error = None, (None if exc.is_a("FileNotFoundError") else exc.type)
        return {"result": result, "before": before, "after": model.state(), "valid": valid,
                "saved": saved, "load_error": load_error, "exists": saved is not None or load_error is not None}

    @rubric(1, "runs: train(model, train_loader, valid_loader, epochs=..., lr=..., checkpoint=...)", budget_s=60)
    def test_runs(self, run):
        run.value

    @rubric(0.5, "returns the validation Spearman as a number")
    def test_returns_float(self, run):
        _best(run.needed)

    @rubric(0.5, "updates the model's weights")
    def test_weights_changed(self, run):
        before, after = run.needed["before"], run.needed["after"]
        if set(before) == set(after) and all(torch.equal(before[k].cpu(), after[k].cpu()) for k in after):
            raise CheckFailed("the model's weights did not change: is the optimizer stepping?")

    @rubric(1, "saves a loadable state dict at `checkpoint`")
    def test_checkpoint_saved(self, run):
        _loaded(run.needed)

    @rubric(2, "the checkpoint holds the best validation epoch (a real copy) and its Spearman is returned")
    def test_checkpoint_is_best(self, run):
        data = run.needed
        try:
            model, best = _loaded(data), _best(data)
        except CheckFailed:
            raise NotChecked() from None
        x, y, m = data["valid"]
        with torch.no_grad():
            rho = _spearman_metric(model.eval()(x), y, m)
        if not math.isclose(rho, best, abs_tol=2e-3):
            raise CheckFailed(f"the saved weights give validation Spearman {rho:.4f} but train returned "
                              f"{best:.4f}: save a copy of the best epoch's state dict "
                              "(copy.deepcopy(model.state_dict())) and return that epoch's masked Spearman "
                              "(train reports your masked_spearman: if its check fails, fix that first)")


def _best(data: dict) -> float:
    value = as_float(data["result"], "train")
    if not -1.0 <= value <= 1.0:
        raise CheckFailed(f"train should return the best validation Spearman (in [-1, 1]), got {value!r}")
    return value


def _loaded(data: dict) -> nn.Module:
    """The judge's stand-in holding the checkpoint's tensors; CheckFailed saying why not."""
    if not data["exists"]:
        raise CheckFailed("no file at the `checkpoint` path: save the best weights with torch.save")
    if data["load_error"] is not None:
        raise CheckFailed(f"torch.load of the checkpoint failed ({data['load_error']}): save model.state_dict()")
    state = data["saved"]
    if isinstance(state, dict):
        state = {k: v.cpu() if torch.is_tensor(v) else v for k, v in state.items()}
    fresh = _judges_standin()
    try:
        fresh.load_state_dict(state)
    except Exception as exc:
        raise CheckFailed(f"the checkpoint is not the model's state dict ({type(exc).__name__})") from None
    return fresh
