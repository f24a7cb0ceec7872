"""Hidden checks for the `dna_unet` assignment (BiLSTM binding sites, U-Net nuclei)."""
from __future__ import annotations

import copy
import math
import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import f1_score, jaccard_score, roc_auc_score
from torch import nn

from course_lib.data.nuclei import read_image, read_mask
from course_lib.reference import dna_unet as ref
from course_lib.training import make_loader

from .core import Check, CheckFailed, Property
from .functions import as_float, assert_close, call, cuda_or_skip
from .models import LearnTask, ModelSpec, find_modules, model_check

SEQ_LEN = 101
HIDDEN = 16
LETTERS = np.array(list("ACGT"))


def _random_seqs(rng: np.random.Generator, n: int, length: int) -> list[str]:
    return ["".join(row) for row in LETTERS[rng.integers(0, 4, (n, length))]]


def _expected_one_hot(seq: str) -> np.ndarray:
    return (np.array(list(seq))[:, None] == LETTERS[None]).astype(np.float32)


# ---------------------------------------------------------------- one_hot_encode
def _ohe_type(ctx):
    out = call(ctx["subject"], "ACGTTGCA", what="one_hot_encode('ACGTTGCA')")
    if not torch.is_tensor(out):
        raise CheckFailed(f"returned {type(out).__name__}, expected a torch tensor")
    if out.dtype != torch.float32:
        raise CheckFailed(f"dtype {out.dtype}, expected torch.float32")
    if tuple(out.shape) != (8, 4):
        raise CheckFailed(f"shape {tuple(out.shape)} for 8 letters, expected (8, 4)")


def _ohe_values(ctx):
    rng = np.random.default_rng(0)
    for length in (1, 7, SEQ_LEN, 250):
        seq = _random_seqs(rng, 1, length)[0]
        out = call(ctx["subject"], seq, what=f"one_hot_encode on a sequence of length {length}")
        got = np.asarray(out.detach().cpu() if torch.is_tensor(out) else out, dtype=np.float32)
        if got.shape != (length, 4):
            raise CheckFailed(f"shape {got.shape} for a sequence of length {length}, expected ({length}, 4)")
        if not np.array_equal(got, _expected_one_hot(seq)):
            raise CheckFailed("wrong values: row i must be 1 in the column of letter i, columns in the order A C G T")


def _ohe_invalid(ctx):
    for bad in ("ACGNT", "ACGU", "AC-GT"):
        try:
            ctx["subject"](bad)
        except ValueError:
            continue
        except NotImplementedError:
            raise CheckFailed("not implemented yet") from None
        except Exception as exc:
            raise CheckFailed(f"{bad!r} should raise ValueError, but it raised {type(exc).__name__}") from None
        raise CheckFailed(f"{bad!r} should raise ValueError (letters other than A, C, G, T), but it returned")


ONE_HOT_CHECK = Check("one_hot_encode", [
    Property("returns a float32 tensor of shape (L, 4)", 1, _ohe_type),
    Property("one-hot values in the order A C G T, any length", 2, _ohe_values),
    Property("letters other than A, C, G, T raise ValueError", 1, _ohe_invalid),
])


# ---------------------------------------------------------------- DNADataset
def _dataset_case(n: int = 12, length: int = 30, seed: int = 1):
    rng = np.random.default_rng(seed)
    return _random_seqs(rng, n, length), rng.integers(0, 2, n)


def _ds_builds(ctx):
    seqs, labels = _dataset_case()
    ds = call(ctx["subject"], seqs, labels, what="DNADataset(sequences, labels)")
    n = call(len, ds, what="len(dataset)")
    if n != len(seqs):
        raise CheckFailed(f"len(dataset) is {n} for {len(seqs)} sequences")
    ctx["dataset"], ctx["case"] = ds, (seqs, labels)


def _flat_label(y) -> np.ndarray:
    return np.asarray(y.detach().cpu() if torch.is_tensor(y) else y, dtype=np.float64).reshape(-1)


def _ds_items(ctx):
    ds, (seqs, labels) = ctx["dataset"], ctx["case"]
    for i in (0, 5, len(seqs) - 1):
        item = call(ds.__getitem__, i, what=f"dataset[{i}]")
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise CheckFailed("an item should be a pair (x, y)")
        x, y = item
        if not torch.is_tensor(x) or x.dtype != torch.float32 or tuple(x.shape) != (len(seqs[i]), 4):
            shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
            raise CheckFailed(f"x should be a float32 tensor of shape (L, 4); got {shape}")
        if not np.array_equal(x.cpu().numpy(), _expected_one_hot(seqs[i])):
            raise CheckFailed(f"dataset[{i}][0] is not the one-hot encoding of sequence {i}")
        if not torch.is_tensor(y) or not y.is_floating_point():
            raise CheckFailed("y should be a float tensor (BCE needs float targets)")
        if _flat_label(y).tolist() != [float(labels[i])]:
            raise CheckFailed(f"dataset[{i}][1] is not the label of sequence {i}")


def _ds_loader(ctx):
    ds, (seqs, labels) = ctx["dataset"], ctx["case"]
    xs, ys = [], []
    try:
        for x, y in make_loader(ds, batch_size=5):
            xs.append(x)
            ys.append(y)
    except Exception:
        try:  # the standard DataLoader (item by item) is fine too
            xs, ys = map(list, zip(*torch.utils.data.DataLoader(ds, batch_size=5)))
        except Exception as exc:
            raise CheckFailed(f"a DataLoader over the dataset fails ({type(exc).__name__})") from None
    x, y = torch.cat(xs), torch.cat([t.reshape(len(t), -1) for t in ys])
    if tuple(x.shape) != (len(seqs), len(seqs[0]), 4) or y.shape[1] != 1:
        raise CheckFailed(f"batches give x {tuple(x.shape)} and y {tuple(y.shape)}; expected (B, L, 4) and (B,) or (B, 1)")
    if not np.array_equal(_flat_label(y), labels.astype(np.float64)):
        raise CheckFailed("labels in the batches do not match the sequences")


DATASET_CHECK = Check("DNADataset", [
    Property("DNADataset(sequences, labels) builds and has the right length", 1, _ds_builds,
             provides=("dataset", "case")),
    Property("items are (one-hot float32 (L, 4), float label)", 1.5, _ds_items, needs=("dataset",)),
    Property("works with a DataLoader", 0.5, _ds_loader, needs=("dataset",)),
])


# ---------------------------------------------------------------- LSTMSeq
def _seq_inputs(batch_size: int, gen: torch.Generator):
    idx = torch.randint(0, 4, (batch_size, SEQ_LEN), generator=gen)
    return (nn.functional.one_hot(idx, 4).float(),)


def _as_column(out):
    return out.reshape(-1, 1) if torch.is_tensor(out) and out.dim() == 1 else out


LEARN_LEN = 40      # short sequences keep the learning check fast on a CPU


def _early_site_data(gen: torch.Generator, n_train: int = 2048, n_valid: int = 512):
    """Half the sequences hold CACGTG within their first 16 bases (where the backward pass ends)."""
    rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen)))
    n = n_train + n_valid
    idx = rng.integers(0, 4, (n, LEARN_LEN))
    y = (np.arange(n) % 2).astype(np.float32)
    site = np.array(["ACGT".index(c) for c in "CACGTG"])
    for row in np.flatnonzero(y == 1):
        start = rng.integers(0, 10)
        idx[row, start:start + 6] = site
    X = torch.from_numpy(np.eye(4, dtype=np.float32)[idx])
    yt = torch.from_numpy(y).reshape(-1, 1)
    return (X[:n_train], yt[:n_train]), (X[n_train:], yt[n_train:])


def _prob_bce(pred, y):
    return nn.functional.binary_cross_entropy(pred.clamp(1e-6, 1 - 1e-6), y.reshape(pred.shape))


def _auroc(pred, y) -> float:
    return roc_auc_score(y.numpy().reshape(-1), pred.numpy().reshape(-1))


def _lstm_options(model):
    lstms = find_modules(model, nn.LSTM)
    if len(lstms) != 1:
        return f"expected exactly one nn.LSTM, found {len(lstms)}"
    m = lstms[0]
    wrong = [f"{k}={getattr(m, k)!r} (expected {v!r})" for k, v in
             {"input_size": 4, "hidden_size": HIDDEN, "num_layers": 1, "batch_first": True,
              "bidirectional": True}.items() if getattr(m, k) != v]
    return ("nn.LSTM options: " + ", ".join(wrong)) if wrong else None


def _lstm_layer(ctx):
    message = _lstm_options(ctx["model"])
    if message:
        raise CheckFailed(message)


def _linear_trace(model, x):
    """(layer, input, output) of every nn.Linear call during one forward, in call order."""
    calls, hooks = [], []
    for layer in find_modules(model, nn.Linear):
        hooks.append(layer.register_forward_hook(lambda mod, inp, out: calls.append((mod, inp[0], out))))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    return calls


def _mlp_head(ctx):
    model = ctx["model"].eval()
    calls = _linear_trace(model, _seq_inputs(8, torch.Generator().manual_seed(11))[0].to(ctx["device"]))
    sizes = [(m.in_features, m.out_features) for m, _, _ in calls]
    want = [(HIDDEN, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 1)]
    if sizes != want:
        raise CheckFailed(f"with hidden_dim={HIDDEN} the linear layers are {sizes}; expected {want} "
                          "(the input is one direction's hidden state)")
    for (_, _, out), (_, nxt, _) in zip(calls, calls[1:]):
        if not torch.allclose(nxt, torch.tanh(out), atol=1e-5):
            raise CheckFailed("the hidden layers of the MLP should be followed by tanh")


def _sigmoid_output(ctx):
    model = copy.deepcopy(ctx["model"]).eval()
    last = [m for m in find_modules(model, nn.Linear) if m.out_features == 1]
    if not last:
        raise CheckFailed("no output layer nn.Linear(..., 1) found")
    x = _seq_inputs(8, torch.Generator().manual_seed(12))[0].to(ctx["device"])
    for bias, ok in ((40.0, lambda p: bool((p > 0.99).all())), (-40.0, lambda p: bool((p < 0.01).all()))):
        with torch.no_grad():
            last[-1].bias.fill_(bias)
            p = _as_column(model(x))
        if not ok(p):
            raise CheckFailed("outputs should be probabilities: sigmoid applied once to the last layer "
                              f"(a logit of {bias:+g} gave {float(p.mean()):.3g})")


def _lstm_param_names(model):
    lstm = find_modules(model, nn.LSTM)
    if not lstm:
        raise CheckFailed("no nn.LSTM found")
    return lstm[0], [name for name, _ in lstm[0].named_parameters()]


def _ignores_forward(ctx):
    model = copy.deepcopy(ctx["model"]).eval()
    lstm, names = _lstm_param_names(model)
    x = _seq_inputs(16, torch.Generator().manual_seed(13))[0].to(ctx["device"])
    with torch.no_grad():
        before = _as_column(model(x)).clone()
        gen = torch.Generator().manual_seed(14)
        for name in names:
            if not name.endswith("_reverse"):
                p = getattr(lstm, name)
                p.copy_(torch.randn(p.shape, generator=gen).to(p.device))
        after = _as_column(model(x))
    if not torch.allclose(before, after, atol=1e-6):
        raise CheckFailed("the output depends on the forward direction; use only the backward direction's "
                          "final hidden state")


def _backward_reads_all(ctx):
    model = ctx["model"].eval()
    x = _seq_inputs(16, torch.Generator().manual_seed(15))[0].to(ctx["device"])
    changed = x.clone()
    changed[:, 0] = changed[:, 0].roll(1, dims=-1)    # another base at the first position only
    with torch.no_grad():
        a, b = _as_column(model(x)), _as_column(model(changed))
    if torch.allclose(a, b, atol=1e-7):
        raise CheckFailed("changing the first base does not change the output: the backward direction's "
                          "final state (after reading the whole sequence, ending at position 0) is not used")


def _single_threaded(test):
    """Run `test` with one torch thread: the checks' small models run many times faster so on a busy CPU."""
    def wrapped(ctx):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return test(ctx)
        finally:
            torch.set_num_threads(threads)
    return wrapped


_LSTM_BASE = model_check(ModelSpec(
    title="LSTMSeq", make_inputs=_seq_inputs, output_shape=lambda b: (b, 1), input_names=("x",),
    build=lambda cls: cls(hidden_dim=HIDDEN), param_range=(500, 200_000), output_transform=_as_column,
    learn=LearnTask(make_data=_early_site_data, loss=_prob_bce, metric=_auroc, bar=0.85, steps=200,
                    batch_size=32, lr=1e-2, metric_name="AUROC", points=1.5),
    points={"finite": 0.5, "params": 0.5, "independent": 0.5},
))
_needs = ("model", "shape_ok")
LSTM_CHECK = Check("LSTMSeq", _LSTM_BASE.properties[:-1] + [
    Property("nn.LSTM(4, hidden_dim, num_layers=1, batch_first=True, bidirectional=True)", 1,
             _lstm_layer, needs=("model",)),
    Property("MLP head: two hidden layers of hidden_dim with tanh, one output", 1, _mlp_head, needs=_needs),
    Property("outputs are probabilities (one sigmoid at the end)", 1, _sigmoid_output, needs=_needs),
    Property("ignores the forward direction", 1.5, _ignores_forward, needs=_needs),
    Property("uses the backward direction's final state (depends on the first base)", 0.5,
             _backward_reads_all, needs=_needs),
    _LSTM_BASE.properties[-1],
], setup=_LSTM_BASE.setup)


# ---------------------------------------------------------------- train / validate / evaluate
class _TinyNet(nn.Module):
    """Probability of 'many A's' from a flattened one-hot sequence; optional dropout."""

    def __init__(self, length: int = 12, dropout: float = 0.0):
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Dropout(dropout), nn.Linear(length * 4, 1), nn.Sigmoid())

    def forward(self, x):
        return self.net(x)


def _loop_data(n: int = 64, length: int = 12, seed: int = 3):
    rng = np.random.default_rng(seed)
    seqs = _random_seqs(rng, n, length)
    labels = np.array([s.count("A") > length / 4 for s in seqs], dtype=np.float32)
    return ref.DNADataset(seqs, labels)


def _loader(ds, batch_size=16, shuffle=False):
    return make_loader(ds, batch_size=batch_size, shuffle=shuffle, seed=0)


def _batch_losses(model, loader) -> float:
    model.eval()
    with torch.no_grad():
        return float(np.mean([float(nn.functional.binary_cross_entropy(model(x), y)) for x, y in loader]))


def _train_value(ctx):
    torch.manual_seed(0)
    model, loader = _TinyNet(), _loader(_loop_data())
    want = _batch_losses(model, loader)
    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    got = as_float(call(ctx["subject"], model, loader, opt, what="train(model, loader, optimizer)"), "train")
    assert_close(got, want, "with a learning rate of 0 (weights fixed), the returned mean batch BCE", rel=1e-4)


def _train_learns(ctx):
    torch.manual_seed(0)
    model, ds = _TinyNet(), _loop_data(256)
    loader = _loader(ds, 32, shuffle=True)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    start = _batch_losses(model, _loader(ds, 32))
    losses = [as_float(call(ctx["subject"], model, loader, opt, what="train(...)"), "train") for _ in range(15)]
    if all(torch.equal(a, b) for a, b in zip(before, model.parameters())):
        raise CheckFailed("the model's parameters did not change: call loss.backward() and optimizer.step()")
    end = _batch_losses(model, _loader(ds, 32))
    if not (end < 0.8 * start and losses[-1] < losses[0]):
        raise CheckFailed(f"15 epochs on easy data took the loss from {start:.3f} to {end:.3f} only: "
                          "zero the gradients each batch and step the optimizer")


class _SteepNet(_TinyNet):
    """Logits multiplied by 50: gradients far larger than norm 1."""

    def forward(self, x):
        return torch.sigmoid(50 * self.net[2](self.net[0](x)))


def _train_clips(ctx):
    torch.manual_seed(4)
    model, ds = _SteepNet(), _loop_data(64, seed=7)
    before = torch.cat([p.detach().reshape(-1).clone() for p in model.parameters()])
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    call(ctx["subject"], model, _loader(ds, 64), opt, what="train(...)")
    step = float((torch.cat([p.detach().reshape(-1) for p in model.parameters()]) - before).norm())
    if step > 1.0 + 1e-3:
        raise CheckFailed(f"one SGD step with lr=1 moved the weights by {step:.2f}: clip the gradient norm "
                          "to 1 between loss.backward() and optimizer.step()")


TRAIN_CHECK = Check("train", [
    Property("returns the mean batch BCE loss", 1.5, _train_value),
    Property("updates the model so that the loss goes down", 1.5, _train_learns),
    Property("clips the gradient norm to 1", 0.5, _train_clips),
])


def _validate_value(ctx):
    torch.manual_seed(1)
    model, loader = _TinyNet(dropout=0.5), _loader(_loop_data(seed=4))
    want = _batch_losses(model, loader)
    model.train()                      # as it is after a training epoch
    got = as_float(call(ctx["subject"], model, loader, what="validate(model, loader)"), "validate")
    assert_close(got, want, "mean batch BCE (in eval mode, so dropout is off)", rel=1e-4)


def _validate_no_update(ctx):
    torch.manual_seed(2)
    model, loader = _TinyNet(), _loader(_loop_data(seed=5))
    before = [p.detach().clone() for p in model.parameters()]
    call(ctx["subject"], model, loader, what="validate(model, loader)")
    if not all(torch.equal(a, b) for a, b in zip(before, model.parameters())):
        raise CheckFailed("validate changed the model's parameters")
    if any(p.grad is not None for p in model.parameters()):
        raise CheckFailed("validate computed gradients: wrap it in torch.no_grad()")


VALIDATE_CHECK = Check("validate", [
    Property("returns the mean batch BCE loss in eval mode", 1.5, _validate_value),
    Property("leaves the model unchanged and computes no gradients", 1, _validate_no_update),
])


def _evaluate_values(ctx):
    torch.manual_seed(3)
    model, ds = _TinyNet(dropout=0.5), _loop_data(seed=6)
    out = call(ctx["subject"], model, _loader(ds), what="evaluate(model, loader)")
    if not (isinstance(out, (tuple, list)) and len(out) == 2):
        raise CheckFailed("evaluate should return a pair (predictions, targets)")
    pred, target = out
    if not (isinstance(pred, np.ndarray) and isinstance(target, np.ndarray)):
        raise CheckFailed(f"expected NumPy arrays, got {type(pred).__name__} and {type(target).__name__}")
    if pred.size != len(ds) or target.size != len(ds):
        raise CheckFailed(f"{pred.size} predictions and {target.size} targets for {len(ds)} sequences")
    model.eval()
    with torch.no_grad():
        want = model(ds.X).numpy().reshape(-1)
    if not np.allclose(target.reshape(-1), ds.y.numpy().reshape(-1)):
        raise CheckFailed("targets are not the labels in loader order")
    if not np.allclose(pred.reshape(-1), want, atol=1e-5):
        raise CheckFailed("predictions are not the model's probabilities in eval mode, in loader order")


EVALUATE_CHECK = Check("evaluate", [
    Property("returns (predictions, targets) NumPy arrays, in order, in eval mode", 2, _evaluate_values),
])


# ---------------------------------------------------------------- ImageDataset
IMAGE_SIZE = 256


def _blob_mask(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
    mask = np.zeros((IMAGE_SIZE, IMAGE_SIZE), bool)
    for _ in range(6):
        cy, cx = rng.uniform(20, IMAGE_SIZE - 20, 2)
        ry, rx = rng.uniform(8, 40, 2)
        mask |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    mask[10:30, 5:120] = True          # a bar near one edge: makes every rotation and flip visible
    return mask


def _write_pairs(folder: Path, n: int = 3, seed: int = 0) -> list:
    """PNG pairs whose mask is exactly (image > 0.5): image = 0.1 + 0.25 * x / W + 0.5 * mask."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, IMAGE_SIZE)[None, :]
    pairs = []
    for k in range(n):
        mask = _blob_mask(rng)
        image = 0.1 + 0.25 * ramp + 0.5 * mask
        image_path, mask_path = folder / f"{k}_cells.png", folder / f"{k}_masks.png"
        Image.fromarray((image * 255).round().astype(np.uint8)).save(image_path)
        Image.fromarray(mask.astype(np.uint8) * 255).save(mask_path)
        pairs.append((str(image_path), str(mask_path)))
    return pairs


def _image_setup(subject) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="dna_unet_check_"))
    return {"subject": subject, "pairs": _write_pairs(folder), "folder": folder}


def _build_images(ctx, augment: bool):
    subject, pairs = ctx["subject"], ctx["pairs"]
    return call(lambda: subject(pairs, augment=augment), what=f"ImageDataset(paths, augment={augment})")


def _item(ds, i: int, label: str):
    item = call(ds.__getitem__, i, what=f"{label}[{i}]")
    if not (isinstance(item, (tuple, list)) and len(item) == 2):
        raise CheckFailed("an item should be a pair (image, mask)")
    image, mask = item
    for name, t in (("image", image), ("mask", mask)):
        if not torch.is_tensor(t) or t.dtype != torch.float32 or tuple(t.shape) != (1, IMAGE_SIZE, IMAGE_SIZE):
            shape = tuple(t.shape) if torch.is_tensor(t) else type(t).__name__
            raise CheckFailed(f"{name} should be a float32 tensor of shape (1, 256, 256); got {shape}")
    return image, mask


def _img_shapes(ctx):
    ds = _build_images(ctx, False)
    n = call(len, ds, what="len(dataset)")
    if n != len(ctx["pairs"]):
        raise CheckFailed(f"len(dataset) is {n} for {len(ctx['pairs'])} pairs")
    _item(ds, 0, "dataset")
    ctx["plain"] = ds


def _img_values(ctx):
    for i, (image_path, mask_path) in enumerate(ctx["pairs"]):
        image, mask = _item(ctx["plain"], i, "dataset")
        if not np.allclose(image[0].numpy(), read_image(image_path), atol=1e-6):
            raise CheckFailed("without augmentation the image should be the file's pixels scaled to [0, 1] "
                              "(course_lib.data.nuclei.read_image)")
        if not np.array_equal(mask[0].numpy(), read_mask(mask_path)):
            raise CheckFailed("without augmentation the mask should be the file's 0/1 mask (read_mask)")


def _aligned_fraction(image, mask) -> float:
    return float(((image[0] > 0.5).float() == mask[0]).float().mean())


def _img_augments(ctx):
    ds = _build_images(ctx, True)
    plain = _item(ctx["plain"], 0, "dataset")[0]
    torch.manual_seed(0)
    np.random.seed(0)
    draws = [_item(ds, 0, "augmented dataset") for _ in range(12)]
    if all(torch.allclose(image, plain, atol=1e-6) for image, _ in draws):
        raise CheckFailed("with augment=True, 12 draws of the same item were never rotated")
    ctx["draws"] = draws


def _img_aligned(ctx):
    worst = min(_aligned_fraction(image, mask) for image, mask in ctx["draws"])
    if worst < 0.97:
        raise CheckFailed(f"after augmentation the mask covers a different region than the nuclei in the image "
                          f"(only {worst:.0%} of pixels agree): rotate image and mask together")


def _img_no_augment(ctx):
    ds = ctx["plain"]
    first = _item(ds, 1, "dataset")
    second = _item(ds, 1, "dataset")
    if not all(torch.equal(a, b) for a, b in zip(first, second)):
        raise CheckFailed("with augment=False the same item should come back unchanged every time")


IMAGE_DATASET_CHECK = Check("ImageDataset", [
    Property("length and items: float32 tensors (1, 256, 256)", 1, _img_shapes, provides=("plain",)),
    Property("image in [0, 1] and 0/1 mask read from the files", 1, _img_values, needs=("plain",)),
    Property("augment=False returns the same item every time", 0.5, _img_no_augment, needs=("plain",)),
    Property("augment=True rotates the items", 1, _img_augments, needs=("plain",), provides=("draws",)),
    Property("augmentation keeps image and mask aligned", 2, _img_aligned, needs=("draws",)),
], setup=_image_setup)


# ---------------------------------------------------------------- dice_loss
def _dice_case(shape, seed: int, coverage: float = 0.3, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    pred = torch.rand(shape, generator=g).to(dtype)
    target = (torch.rand(shape, generator=g) < coverage).to(dtype)
    return pred, target


def _dice_value(fn, pred, target, what: str) -> float:
    return as_float(call(fn, pred, target, what=what), "dice_loss")


def _dice_scalar(ctx):
    pred, target = _dice_case((2, 1, 16, 16), 0)
    pred.requires_grad_(True)
    out = call(ctx["subject"], pred, target, what="dice_loss(pred, target)")
    if not torch.is_tensor(out) or out.dim() != 0:
        raise CheckFailed("expected a 0-d tensor")
    if not out.requires_grad:
        raise CheckFailed("the loss is not connected to pred (no gradient)")


def _dice_matches(ctx):
    for i, shape in enumerate([(4, 1, 32, 32), (2, 1, 256, 256), (1, 1, 3, 3), (5, 1, 8, 8)]):
        pred, target = _dice_case(shape, i + 1, coverage=0.3 if i % 2 else 0.05)
        assert_close(_dice_value(ctx["subject"], pred, target, what=f"on shape {shape}"),
                     float(ref.dice_loss(pred, target)), f"on random inputs of shape {shape}", rel=1e-5)


def _dice_smoothing(ctx):
    empty = torch.zeros(2, 1, 8, 8)
    got = _dice_value(ctx["subject"], empty, empty, what="with an empty prediction and an empty mask")
    if not math.isfinite(got):
        raise CheckFailed("an empty prediction of an empty mask gives nan: keep the +1 in numerator and denominator")
    assert_close(got, 0.0, "empty prediction of an empty mask (a perfect answer)")
    one = torch.zeros(1, 1, 4, 4)
    one[0, 0, 0, 0] = 1
    assert_close(_dice_value(ctx["subject"], one, empty[:1, :, :4, :4], what="one false positive"),
                 float(ref.dice_loss(one, empty[:1, :, :4, :4])), "one false-positive pixel, empty mask")


def _dice_extremes(ctx):
    mask = _dice_case((2, 1, 32, 32), 9)[1]
    perfect = _dice_value(ctx["subject"], mask.clone(), mask, what="for a perfect prediction")
    wrong = _dice_value(ctx["subject"], 1 - mask, mask, what="for an inverted prediction")
    assert_close(perfect, float(ref.dice_loss(mask, mask)), "perfect prediction")
    assert_close(wrong, float(ref.dice_loss(1 - mask, mask)), "inverted prediction")


def _dice_gradient(ctx):
    pred, target = _dice_case((2, 1, 16, 16), 10)
    mine, theirs = pred.clone().requires_grad_(True), pred.clone().requires_grad_(True)
    call(ctx["subject"], mine, target, what="dice_loss").backward()
    ref.dice_loss(theirs, target).backward()
    if mine.grad is None or not torch.allclose(mine.grad, theirs.grad, atol=1e-7, rtol=1e-4):
        raise CheckFailed("the gradient with respect to pred is not that of the Dice loss")


def _dice_gpu(ctx):
    device = cuda_or_skip()
    pred, target = _dice_case((2, 1, 32, 32), 11)
    got = _dice_value(ctx["subject"], pred.to(device), target.to(device), what="with CUDA tensors")
    assert_close(got, float(ref.dice_loss(pred, target)), "with CUDA tensors", rel=1e-5)


DICE_LOSS_CHECK = Check("dice_loss", [
    Property("returns a scalar tensor connected to pred", 0.5, _dice_scalar),
    Property("1 − (2·Σpt + 1)/(Σp + Σt + 1) on random inputs of several shapes", 2, _dice_matches),
    Property("smoothing: empty prediction of an empty mask gives 0, not nan", 1, _dice_smoothing),
    Property("perfect and inverted predictions", 0.5, _dice_extremes),
    Property("gradient is that of the Dice loss", 0.5, _dice_gradient),
    Property("accepts tensors on the GPU", 0.5, _dice_gpu),
])


# ---------------------------------------------------------------- dice_score / iou_score
def _score_case(seed: int):
    rng = np.random.default_rng(seed)
    pred = rng.random((64, 64)).astype(np.float32)
    target = (rng.random((64, 64)) < 0.3).astype(np.float32)
    return pred, target


def _score_matches(sk_metric, name: str):
    def test(ctx):
        for seed in range(3):
            pred, target = _score_case(seed)
            want = sk_metric(target.reshape(-1) > 0.5, pred.reshape(-1) > 0.5)
            for label, args in {"NumPy arrays": (pred, target),
                                "tensors": (torch.from_numpy(pred), torch.from_numpy(target))}.items():
                got = as_float(call(ctx["subject"], *args, what=f"{name} with {label}"), name)
                assert_close(got, want, f"{name} of thresholded masks ({label})")
    return test


def _score_empty(name: str):
    def test(ctx):
        empty = np.zeros((16, 16), np.float32)
        got = as_float(call(ctx["subject"], empty, empty, what=f"{name} of two empty masks"), name)
        assert_close(got, 1.0, "two empty masks agree perfectly")
    return test


DICE_SCORE_CHECK = Check("dice_score", [
    Property("Dice of masks thresholded at 0.5 (arrays and tensors)", 1, _score_matches(f1_score, "dice_score")),
    Property("two empty masks give 1", 0.5, _score_empty("dice_score")),
])
IOU_SCORE_CHECK = Check("iou_score", [
    Property("IoU of masks thresholded at 0.5 (arrays and tensors)", 1, _score_matches(jaccard_score, "iou_score")),
    Property("two empty masks give 1", 0.5, _score_empty("iou_score")),
])


def _single_threaded_check(check: Check) -> Check:
    """The same check with every property run on one torch thread."""
    return Check(check.title, [replace(p, test=_single_threaded(p.test)) for p in check.properties],
                 setup=check.setup)


CHECKS = {name: _single_threaded_check(check) for name, check in {
    "one_hot_encode": ONE_HOT_CHECK, "DNADataset": DATASET_CHECK, "LSTMSeq": LSTM_CHECK,
    "train": TRAIN_CHECK, "validate": VALIDATE_CHECK, "evaluate": EVALUATE_CHECK,
    "ImageDataset": IMAGE_DATASET_CHECK, "dice_loss": DICE_LOSS_CHECK,
    "dice_score": DICE_SCORE_CHECK, "iou_score": IOU_SCORE_CHECK,
}.items()}
