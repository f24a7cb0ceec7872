"""Hidden checks for the `rnacompete` assignment."""
from __future__ import annotations

import math
import tempfile
from pathlib import Path

import numpy as np
import torch
from scipy import stats
from torch import nn
from torch.utils.data import TensorDataset

from course_lib.reference import rnacompete as ref
from course_lib.training import make_loader

from .core import Check, CheckFailed, Property, student_error
from .functions import as_float, assert_close, call, cuda_or_skip, expect_same_gradient, expect_scalar_tensor
from .models import LayerRule, LearnTask, ModelSpec, find_modules, has_layer, model_check

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


def _motif_conv(model):
    convs = find_modules(model, nn.Conv2d)
    if not convs:
        return "no nn.Conv2d layer found (the motif detectors)"
    conv = convs[0]
    if conv.in_channels != 1 or conv.kernel_size[1] != 4:
        return (f"the first nn.Conv2d has in_channels={conv.in_channels} and kernel_size={conv.kernel_size}; "
                "expected in_channels=1 and a kernel (motif_len, 4) spanning the 4 bases")
    return None


def _accepts_channel_axis(model):
    x = _inputs(3, torch.Generator().manual_seed(8))[0].to(next(model.parameters()).device)
    model.eval()
    with torch.no_grad():
        try:
            a, b = model(x), model(x.unsqueeze(1))
        except Exception as exc:
            return f"forward on a (B, 1, 41, 4) input {type(exc).__name__}: accept both (B,41,4) and (B,1,41,4)"
    if not torch.allclose(a, b, atol=1e-5):
        return "(B, 41, 4) and (B, 1, 41, 4) inputs give different outputs"
    return None


def _stacked_lstm(model):
    lstms = find_modules(model, nn.LSTM)
    if not lstms:
        return "no nn.LSTM layer found"
    lstm = lstms[0]
    if lstm.num_layers < 2:
        return f"nn.LSTM has num_layers={lstm.num_layers}; a stacked LSTM has at least 2"
    if not lstm.batch_first:
        return "nn.LSTM should be created with batch_first=True"
    return None


def _conv_rules():
    return (LayerRule("nn.Conv2d(1, num_filters, kernel (motif_len, 4))", 1, _motif_conv),
            LayerRule("accepts (B, 41, 4) and (B, 1, 41, 4) inputs", 0.5, _accepts_channel_axis))


def _spec(title: str, layers: tuple, learn: LearnTask) -> ModelSpec:
    return ModelSpec(title=title, make_inputs=_inputs, output_shape=lambda b: (b, 1), input_names=("x",),
                     inputs=(0,), targets=(1, 2), layers=layers, learn=learn, param_range=(1_000, 2_000_000))


CNN_CHECK = model_check(_spec(
    "DeepBindCNN",
    layers=_conv_rules() + (LayerRule("uses dropout", 0.5, has_layer(nn.Dropout, "no nn.Dropout layer found")),),
    learn=_learn(bar=0.6, points=2, steps=150),
))

CONVLSTM_CHECK = model_check(_spec(
    "ConvLSTM",
    layers=_conv_rules() + (LayerRule("stacked nn.LSTM (num_layers >= 2, batch_first=True)", 1, _stacked_lstm),),
    learn=_learn(bar=0.6, points=1.5, steps=150),
))


# ---------------------------------------------------------------- masked_mse_loss
def _mse_case(seed: int, n: int = 40, shape: str = "column", dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    preds = torch.randn(n, 1, generator=g).to(dtype)
    targets = torch.randn(n, 1, generator=g).to(dtype)
    mask = (torch.rand(n, 1, generator=g) > 0.3).float()
    if shape == "flat":
        preds, targets, mask = preds.reshape(-1), targets.reshape(-1), mask.reshape(-1)
    return preds, targets, mask


def _mse_value(fn, *args, what: str) -> float:
    return as_float(call(fn, *args, what=what), "masked_mse_loss")


def _mse_scalar(ctx):
    out = call(ctx["subject"], *_mse_case(0), what="masked_mse_loss(preds, targets, mask)")
    expect_scalar_tensor(out, "masked_mse_loss")


def _mse_matches(ctx):
    cases = {"(N, 1) float32": dict(), "(N,) float32": dict(shape="flat"),
             "(N, 1) float64": dict(dtype=torch.float64), "a batch of 3": dict(n=3)}
    for seed, (label, kw) in enumerate(cases.items()):
        args = _mse_case(seed, **kw)
        assert_close(_mse_value(ctx["subject"], *args, what=f"on {label} inputs"),
                     float(ref.masked_mse_loss(*args)), f"on random {label} inputs")


def _mse_ignores_masked(ctx):
    preds, targets, mask = _mse_case(5)
    want = float(ref.masked_mse_loss(preds, targets, mask))
    messy = targets.clone()
    messy[mask == 0] = float("nan")
    got = _mse_value(ctx["subject"], preds, messy, mask, what="with nan targets where mask is 0")
    assert_close(got, want, "with nan (missing) targets where mask is 0: masked entries must not count")
    got = _mse_value(ctx["subject"], preds, targets, mask.bool(), what="with a boolean mask")
    assert_close(got, want, "with a boolean mask")


def _mse_empty(ctx):
    preds, targets, _ = _mse_case(6, n=8)
    got = _mse_value(ctx["subject"], preds, targets, torch.zeros(8, 1), what="with an all-zero mask")
    if got != 0.0:
        raise CheckFailed(f"an all-zero mask should give a loss of 0 (nothing to fit), got {got!r}")


def _mse_gradient(ctx):
    expect_same_gradient(ctx["subject"], ref.masked_mse_loss, _mse_case(7), "the masked mean", "predictions")


MSE_CHECK = Check("masked_mse_loss", [
    Property("returns a scalar tensor", 0.5, _mse_scalar),
    Property("matches the masked mean squared error across shapes and dtypes", 2, _mse_matches),
    Property("masked entries (even nan targets) do not count; boolean masks work", 1.5, _mse_ignores_masked),
    Property("an all-zero mask gives 0, not nan", 0.5, _mse_empty),
    Property("gradient is that of the masked mean", 0.5, _mse_gradient),
])


# ---------------------------------------------------------------- masked_spearman
def _scipy_spearman(preds, targets, mask) -> float:
    keep = np.asarray(mask).reshape(-1) > 0
    return float(stats.spearmanr(np.asarray(preds).reshape(-1)[keep], np.asarray(targets).reshape(-1)[keep]).statistic)


def _rho(fn, *args, what: str) -> float:
    return as_float(call(fn, *args, what=what), "masked_spearman")


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


def _sp_matches(ctx):
    for seed in range(3):
        args = _sp_case(seed, n=(60, 500, 7)[seed])
        assert_close(_rho(ctx["subject"], *args, what="on random data"), _scipy_spearman(*args),
                     "on random data (compared with scipy.stats.spearmanr on the masked entries)", abs_=1e-5)


def _sp_ties(ctx):
    for seed in range(2):
        args = _sp_case(10 + seed, ties=True)
        assert_close(_rho(ctx["subject"], *args, what="with tied values"), _scipy_spearman(*args),
                     "with tied values (ties share the average of their ranks)", abs_=1e-5)


def _sp_masked_only(ctx):
    preds, targets, mask = _sp_case(20)
    keep = mask.reshape(-1) > 0
    want = _rho(ctx["subject"], preds[keep], targets[keep], torch.ones(int(keep.sum()), 1),
                what="with every entry valid")
    messy_p, messy_t = preds.clone(), targets.clone()
    messy_p[mask == 0] = 1e6
    messy_t[mask == 0] = -1e6
    got = _rho(ctx["subject"], messy_p, messy_t, mask, what="with garbage in masked entries")
    assert_close(got, want, "changing masked-out entries changed the result: use only entries with mask 1",
                 abs_=1e-6)


def _sp_inputs(ctx):
    """Same value as on (N, 1) float32 tensors with a float mask (correctness itself is checked above)."""
    preds, targets, mask = _sp_case(30)
    want = _rho(ctx["subject"], preds, targets, mask, what="on (N, 1) tensors")
    variants = {"(N,) tensors": (preds.reshape(-1), targets.reshape(-1), mask.reshape(-1)),
                "float64 tensors": (preds.double(), targets.double(), mask.double()),
                "a boolean mask": (preds, targets, mask.bool()),
                "predictions that require grad": (preds.clone().requires_grad_(True), targets, mask)}
    for label, args in variants.items():
        assert_close(_rho(ctx["subject"], *args, what=f"with {label}"), want,
                     f"with {label} (compared with your result on (N, 1) float32 tensors)", abs_=1e-5)


def _sp_too_few(ctx):
    preds, targets, _ = _sp_case(40, n=6)
    for label, mask in {"one valid entry": torch.tensor([1.0, 0, 0, 0, 0, 0]), "no valid entry": torch.zeros(6)}.items():
        try:
            result = ctx["subject"](preds, targets, mask.reshape(-1, 1))
        except ValueError:
            continue
        except NotImplementedError:
            raise CheckFailed("not implemented yet") from None
        except Exception as exc:
            raise CheckFailed(f"with {label}: raise ValueError or return 0.0, not {type(exc).__name__}") from None
        value = as_float(result, "masked_spearman")
        if value != 0.0:
            raise CheckFailed(f"with {label}: raise ValueError or return 0.0 (and say which), got {value!r}")


def _sp_gpu(ctx):
    device = cuda_or_skip()
    preds, targets, mask = _sp_case(50)
    got = _rho(ctx["subject"], preds.to(device), targets.to(device), mask.to(device), what="with CUDA tensors")
    assert_close(got, _scipy_spearman(preds, targets, mask), "with CUDA tensors", abs_=1e-5)


SPEARMAN_CHECK = Check("masked_spearman", [
    Property("equals scipy.stats.spearmanr on the masked entries", 2, _sp_matches),
    Property("ties get average ranks", 1.5, _sp_ties),
    Property("uses only entries with mask 1", 1, _sp_masked_only),
    Property("accepts (N,) or (N,1), float64, boolean masks, tensors that require grad", 0.5, _sp_inputs),
    Property("fewer than two valid entries: ValueError or 0.0", 0.5, _sp_too_few),
    Property("accepts tensors on the GPU", 0.5, _sp_gpu),
])


# ---------------------------------------------------------------- train
def _train_loaders(seed: int = 0):
    """Tiny data where validation intensities are the *opposite* of training ones.

    Training makes validation Spearman worse epoch after epoch, so the best epoch is an early
    one and the final weights differ from the best: only a real copy of the best state dict
    (or a save at the best epoch) keeps them.
    """
    g = torch.Generator().manual_seed(seed)
    (x, y, m), (xv, yv, mv) = _planted_site_data(g, n_train=768, n_valid=256)
    y = torch.nan_to_num(y)
    yv = -torch.nan_to_num(yv)
    return (make_loader(TensorDataset(x, y, m), 64, shuffle=True, seed=seed),
            make_loader(TensorDataset(xv, yv, mv), 256)), (xv, yv, mv)


def _small_model():
    torch.manual_seed(0)
    return ref.DeepBindCNN(motif_len=6, num_filters=8, hidden=8, dropout=0.0)


def _run_train(ctx):
    (train_loader, valid_loader), valid = _train_loaders()
    model = _small_model()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    with tempfile.TemporaryDirectory(prefix="rnacompete_train_") as folder:
        path = Path(folder) / "best.pt"
        result = _call_train(ctx["subject"], model, train_loader, valid_loader, path)
        saved, state, load_error = path.exists(), None, None
        if saved:
            try:
                state = torch.load(path, map_location="cpu", weights_only=True)
            except Exception as exc:  # not a plain state dict (or not a torch file at all)
                load_error = type(exc).__name__
    ctx.update(model=model, before=before, result=result, valid=valid, saved=saved, state=state,
               load_error=load_error)


def _call_train(fn, model, train_loader, valid_loader, path):
    try:
        return fn(model, train_loader, valid_loader, epochs=4, lr=0.01, checkpoint=str(path))
    except NotImplementedError:
        raise CheckFailed("not implemented yet") from None
    except CheckFailed:
        raise
    except Exception as exc:
        raise CheckFailed("train(model, train_loader, valid_loader, epochs=4, lr=0.01, checkpoint=path) "
                          + student_error(exc)) from None


def _returns_float(ctx):
    value = as_float(ctx["result"], "train")
    if not -1.0 <= value <= 1.0:
        raise CheckFailed(f"train should return the best validation Spearman (in [-1, 1]), got {value!r}")
    ctx["best"] = value


def _weights_changed(ctx):
    after = ctx["model"].state_dict()
    if all(torch.equal(ctx["before"][k], after[k].cpu()) for k in after):
        raise CheckFailed("the model's weights did not change: is the optimizer stepping?")


def _checkpoint_saved(ctx):
    if not ctx["saved"]:
        raise CheckFailed("no file at the `checkpoint` path: save the best weights with torch.save")
    if ctx["load_error"] is not None:
        raise CheckFailed(f"torch.load of the checkpoint failed ({ctx['load_error']}): save model.state_dict()")
    fresh = _small_model()
    try:
        fresh.load_state_dict(ctx["state"])
    except Exception as exc:
        raise CheckFailed(f"the checkpoint is not the model's state dict ({type(exc).__name__})") from None
    ctx["loaded"] = fresh


def _checkpoint_is_best(ctx):
    x, y, m = ctx["valid"]
    model = ctx["loaded"].eval()
    with torch.no_grad():
        rho = _spearman_metric(model(x), y, m)
    if not math.isclose(rho, ctx["best"], abs_tol=2e-3):
        raise CheckFailed(f"the saved weights give validation Spearman {rho:.4f} but train returned "
                          f"{ctx['best']:.4f}: save a copy of the best epoch's state dict "
                          "(copy.deepcopy(model.state_dict())) and return that epoch's Spearman")


TRAIN_CHECK = Check("train", [
    Property("runs: train(model, train_loader, valid_loader, epochs=..., lr=..., checkpoint=...)", 1, _run_train,
             provides=("result",), budget_s=60),
    Property("returns the validation Spearman as a number", 0.5, _returns_float, needs=("result",),
             provides=("best",)),
    Property("updates the model's weights", 0.5, _weights_changed, needs=("result",)),
    Property("saves a loadable state dict at `checkpoint`", 1, _checkpoint_saved, needs=("result",),
             provides=("loaded",)),
    Property("the checkpoint holds the best validation epoch (a real copy) and its Spearman is returned", 2,
             _checkpoint_is_best, needs=("loaded", "best")),
])

CHECKS = {"masked_mse_loss": MSE_CHECK, "masked_spearman": SPEARMAN_CHECK, "DeepBindCNN": CNN_CHECK,
          "ConvLSTM": CONVLSTM_CHECK, "train": TRAIN_CHECK}
