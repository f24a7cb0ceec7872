"""Hidden checks for the `dna_unet` assignment (BiLSTM binding sites, U-Net nuclei)."""
from __future__ import annotations

import functools
import io
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score, jaccard_score, roc_auc_score
from torch import nn

from course_lib.reference import dna_unet as ref
from gradeworker import standins

from ..expect import as_array, as_float, assert_close, cuda, expect_raises, expect_same_gradient
from ..modeltests import LayerRule, LearnTask, ModelSpec, forward, model_tests
from ..outcomes import CheckFailed, StudentError
from ..remote import Opaque, Recipe, len_of
from ..rubric import graded, rubric, step

SEQ_LEN = 101
HIDDEN = 16
LETTERS = np.array(list("ACGT"))


def _random_seqs(rng: np.random.Generator, n: int, length: int) -> list[str]:
    return ["".join(row) for row in LETTERS[rng.integers(0, 4, (n, length))]]


def _one_hot(seqs) -> np.ndarray:
    """(N, L, 4) float32 one-hot of equally long strings (or (L, 4) of one string), columns A C G T."""
    if isinstance(seqs, str):
        return (np.array(list(seqs))[:, None] == LETTERS[None]).astype(np.float32)
    return (np.array([list(s) for s in seqs])[..., None] == LETTERS).astype(np.float32)


def _shown(value) -> str:
    return value.type_name if isinstance(value, Opaque) else type(value).__name__


# ---------------------------------------------------------------- one_hot_encode
@graded("one_hot_encode")
class TestOneHotEncode:
    @pytest.fixture
    def encode(self, student):
        student.defined("one_hot_encode")
        return student.function("one_hot_encode")

    @rubric(1, "returns a float32 tensor of shape (L, 4)")
    def test_type(self, encode):
        out = encode("ACGTTGCA", what="one_hot_encode('ACGTTGCA')")
        if not torch.is_tensor(out):
            raise CheckFailed(f"returned {_shown(out)}, expected a torch tensor")
        if out.dtype != torch.float32:
            raise CheckFailed(f"dtype {out.dtype}, expected torch.float32")
        if tuple(out.shape) != (8, 4):
            raise CheckFailed(f"shape {tuple(out.shape)} for 8 letters, expected (8, 4)")

    @rubric(2, "one-hot values in the order A C G T, any length")
    def test_values(self, encode):
        rng = np.random.default_rng(0)
        for length in (1, 7, SEQ_LEN, 250):
            seq = _random_seqs(rng, 1, length)[0]
            got = as_array(encode(seq, what=f"one_hot_encode on a sequence of length {length}"), "one_hot_encode",
                           dtype=np.float32)
            if got.shape != (length, 4):
                raise CheckFailed(f"shape {got.shape} for a sequence of length {length}, expected ({length}, 4)")
            if not np.array_equal(got, _one_hot(seq)):
                raise CheckFailed("wrong values: row i must be 1 in the column of letter i, columns in the order "
                                  "A C G T")

    @rubric(1, "letters other than A, C, G, T raise ValueError")
    def test_invalid(self, encode):
        for bad in ("ACGNT", "ACGU", "AC-GT"):
            expect_raises("ValueError", lambda: encode(bad, what=f"one_hot_encode({bad!r})"),
                          f"{bad!r} (letters other than A, C, G, T)")


# ---------------------------------------------------------------- DNADataset
def _dataset_case(n: int = 12, length: int = 30, seed: int = 1):
    rng = np.random.default_rng(seed)
    return _random_seqs(rng, n, length), rng.integers(0, 2, n)


def _flat_label(y) -> np.ndarray:
    return as_array(y, "the dataset's label").reshape(-1)


@graded("DNADataset")
class TestDNADataset:
    @staticmethod
    def _build(student):
        student.defined("DNADataset")
        seqs, labels = _dataset_case()
        return student.cls("DNADataset").build(seqs, labels, what="DNADataset(sequences, labels)"), (seqs, labels)

    @step(budget_s=30)
    def built(self, student):
        ds, (seqs, _) = self._build(student)
        n = len_of(ds, what="len(dataset)")
        if n != len(seqs):
            raise CheckFailed(f"len(dataset) is {n} for {len(seqs)} sequences")
        return True

    @pytest.fixture
    def dataset(self, student, built):
        built.needed
        return self._build(student)

    @rubric(1, "DNADataset(sequences, labels) builds and has the right length")
    def test_builds(self, built):
        built.value

    @rubric(1.5, "items are (one-hot float32 (L, 4), float label)")
    def test_items(self, dataset):
        ds, (seqs, labels) = dataset
        get = ds.method("__getitem__")
        for i in (0, 5, len(seqs) - 1):
            item = get(i, what=f"dataset[{i}]")
            if not (isinstance(item, (tuple, list)) and len(item) == 2):
                raise CheckFailed("an item should be a pair (x, y)")
            x, y = item
            if not torch.is_tensor(x) or x.dtype != torch.float32 or tuple(x.shape) != (len(seqs[i]), 4):
                shape = tuple(x.shape) if torch.is_tensor(x) else _shown(x)
                raise CheckFailed(f"x should be a float32 tensor of shape (L, 4); got {shape}")
            if x.device.type == "meta" or not np.array_equal(x.cpu().numpy(), _one_hot(seqs[i])):
                raise CheckFailed(f"dataset[{i}][0] is not the one-hot encoding of sequence {i}")
            if not torch.is_tensor(y) or not y.is_floating_point():
                raise CheckFailed("y should be a float tensor (BCE needs float targets)")
            if _flat_label(y).tolist() != [float(labels[i])]:
                raise CheckFailed(f"dataset[{i}][1] is not the label of sequence {i}")

    @rubric(0.5, "works with a DataLoader")
    def test_loader(self, student, dataset):
        ds, (seqs, labels) = dataset
        try:
            batches = student.builtin("list", Recipe("loader", {"dataset": ds, "batch_size": 5}),
                                      what="a batched loader over the dataset")
        except StudentError:
            try:  # the standard DataLoader (item by item) is fine too
                batches = student.builtin("list", Recipe("loader", {"dataset": ds, "batch_size": 5,
                                                                    "batched": False}),
                                          what="a DataLoader over the dataset")
            except StudentError as exc:
                raise CheckFailed(f"a DataLoader over the dataset fails ({exc.type})") from None
        if not all(isinstance(b, (tuple, list)) and len(b) == 2 and all(torch.is_tensor(t) for t in b)
                   for b in batches) or not batches:
            raise CheckFailed("batches should be pairs of tensors (x, y)")
        x = torch.cat([b[0] for b in batches])
        y = torch.cat([b[1].reshape(len(b[1]), -1) for b in batches])
        if tuple(x.shape) != (len(seqs), len(seqs[0]), 4) or y.shape[1] != 1:
            raise CheckFailed(f"batches give x {tuple(x.shape)} and y {tuple(y.shape)}; expected (B, L, 4) and "
                              "(B,) or (B, 1)")
        if not np.array_equal(_flat_label(y), labels.astype(np.float64)):
            raise CheckFailed("labels in the batches do not match the sequences")


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


def _lstm_options(desc, model):
    lstms = desc.find("LSTM")
    if len(lstms) != 1:
        return f"expected exactly one nn.LSTM, found {len(lstms)}"
    attrs = lstms[0].attrs
    wrong = [f"{k}={attrs.get(k)!r} (expected {v!r})" for k, v in
             {"input_size": 4, "hidden_size": HIDDEN, "num_layers": 1, "batch_first": True,
              "bidirectional": True}.items() if attrs.get(k) != v]
    return ("nn.LSTM options: " + ", ".join(wrong)) if wrong else None


LSTM_SPEC = ModelSpec(
    title="LSTMSeq", make_inputs=_seq_inputs, output_shape=lambda b: (b, 1), input_names=("x",),
    build_kwargs={"hidden_dim": HIDDEN}, param_range=(500, 200_000), output_transform=_as_column,
    layers=(LayerRule("nn.LSTM(4, hidden_dim, num_layers=1, batch_first=True, bidirectional=True)", 1,
                      _lstm_options),),
    learn=LearnTask(make_data=_early_site_data, loss=_prob_bce, metric=_auroc, bar=0.85, steps=200,
                    batch_size=32, lr=1e-2, metric_name="AUROC", points=1.5),
    points={"finite": 0.5, "params": 0.5, "independent": 0.5},
)


def _inputs(student, batch_size: int, seed: int):
    return [t.to(student.device) for t in _seq_inputs(batch_size, torch.Generator().manual_seed(seed))]


class TestLSTMSeq(model_tests(LSTM_SPEC)):
    @rubric(1, "MLP head: two hidden layers of hidden_dim with tanh, one output")
    def test_mlp_head(self, student, shaped):
        shaped.set_mode(False)
        features = {m.name: (m.attrs.get("in_features"), m.attrs.get("out_features"))
                    for m in shaped.describe().find("Linear")}
        calls = shaped.trace("Linear", *_inputs(student, 8, 11))
        sizes = [features.get(name) for name, _, _ in calls]
        want = [(HIDDEN, HIDDEN), (HIDDEN, HIDDEN), (HIDDEN, 1)]
        if sizes != want:
            raise CheckFailed(f"with hidden_dim={HIDDEN} the linear layers are {sizes}; expected {want} "
                              "(the input is one direction's hidden state)")
        for (_, _, out), (_, nxt, _) in zip(calls, calls[1:]):
            if not (torch.is_tensor(out) and torch.is_tensor(nxt) and out.shape == nxt.shape
                    and torch.allclose(nxt, torch.tanh(out), atol=1e-5)):
                raise CheckFailed("the hidden layers of the MLP should be followed by tanh")

    @rubric(1, "outputs are probabilities (one sigmoid at the end)")
    def test_sigmoid_output(self, student, shaped):
        desc = shaped.describe()
        last = [m for m in desc.find("Linear") if m.attrs.get("out_features") == 1]
        if not last:
            raise CheckFailed("no output layer nn.Linear(..., 1) found")
        key = f"{last[-1].name}.bias" if last[-1].name else "bias"
        if not last[-1].attrs.get("has_bias") or key not in {p[0] for p in desc.params}:
            raise CheckFailed("the output layer nn.Linear(..., 1) should have a bias")
        x = _inputs(student, 8, 12)
        for bias, ok in ((40.0, lambda p: bool((p > 0.99).all())), (-40.0, lambda p: bool((p < 0.01).all()))):
            shaped.load_state({key: torch.full((1,), bias)})
            p = forward(shaped, x, LSTM_SPEC)
            if p.device.type == "meta" or not ok(p):
                raise CheckFailed("outputs should be probabilities: sigmoid applied once to the last layer "
                                  f"(a logit of {bias:+g} gave {float(p.float().mean()):.3g})")

    @rubric(1.5, "ignores the forward direction")
    def test_ignores_forward(self, student, shaped):
        desc = shaped.describe()
        lstms = desc.find("LSTM")
        if not lstms:
            raise CheckFailed("no nn.LSTM found")
        prefix = f"{lstms[0].name}." if lstms[0].name else ""
        x = _inputs(student, 16, 13)
        before = forward(shaped, x, LSTM_SPEC)
        gen = torch.Generator().manual_seed(14)
        forward_direction = {name: torch.randn(shape, generator=gen) for name, shape, _, _ in desc.params
                             if name.startswith(prefix) and "." not in name[len(prefix):]
                             and not name.endswith("_reverse")}
        shaped.load_state(forward_direction)
        after = forward(shaped, x, LSTM_SPEC)
        if not (before.shape == after.shape and torch.allclose(before, after, atol=1e-6)):
            raise CheckFailed("the output depends on the forward direction; use only the backward direction's "
                              "final hidden state")

    @rubric(0.5, "uses the backward direction's final state (depends on the first base)")
    def test_backward_reads_all(self, student, shaped):
        x = _inputs(student, 16, 15)[0]
        changed = x.clone()
        changed[:, 0] = changed[:, 0].roll(1, dims=-1)    # another base at the first position only
        a, b = forward(shaped, [x], LSTM_SPEC), forward(shaped, [changed], LSTM_SPEC)
        if a.shape == b.shape and torch.allclose(a, b, atol=1e-7):
            raise CheckFailed("changing the first base does not change the output: the backward direction's "
                              "final state (after reading the whole sequence, ending at position 0) is not used")


# ---------------------------------------------------------------- train / validate / evaluate
# The loops get a stand-in model (gradeworker.standins.TinyNet / SteepNet) and loaders over
# one-hot tensors; what they should have done is computed here, with the judge's own copy.
def _loop_data(n: int = 64, length: int = 12, seed: int = 3):
    """(X (n, length, 4), y (n, 1)): label 1 when more than a quarter of the bases are A."""
    rng = np.random.default_rng(seed)
    seqs = _random_seqs(rng, n, length)
    labels = np.array([s.count("A") > length / 4 for s in seqs], dtype=np.float32)
    return torch.from_numpy(_one_hot(seqs)), torch.from_numpy(labels).reshape(-1, 1)


def _loader(data, batch_size: int = 16, shuffle: bool = False) -> Recipe:
    return Recipe("loader", {"dataset": Recipe("tensor_dataset", {"tensors": list(data)}), "batch_size": batch_size,
                             "shuffle": shuffle, "seed": 0})


def _batches(data, batch_size: int = 16):
    X, y = data
    return [(X[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(X), batch_size)]


def _batch_losses(model, data, batch_size: int = 16) -> float:
    model.eval()
    with torch.no_grad():
        return float(np.mean([float(nn.functional.binary_cross_entropy(model(x), y))
                              for x, y in _batches(data, batch_size)]))


def _local(name: str, seed: int, state: dict | None = None, **kwargs) -> nn.Module:
    """The judge's own copy of a stand-in, optionally with the weights read back from the worker."""
    model = standins.build(name, seed=seed, **kwargs)
    if state is not None:
        model.load_state_dict({k: v.detach().cpu() for k, v in state.items()})
    return model


def _flat_state(state: dict) -> torch.Tensor:
    return torch.cat([v.detach().cpu().reshape(-1).float() for _, v in sorted(state.items())])


def _loop(student, name: str):
    student.defined(name)
    return student.function(name)


@graded("train")
class TestTrain:
    @rubric(1.5, "returns the mean batch BCE loss")
    def test_value(self, student):
        train = _loop(student, "train")
        data = _loop_data()
        want = _batch_losses(_local("TinyNet", 0), data)
        model = student.standin("TinyNet", seed=0)
        opt = student.make("optimizer", kind="SGD", params_of=model, lr=0.0)
        got = as_float(train(model, _loader(data), opt, what="train(model, loader, optimizer)"), "train")
        assert_close(got, want, "with a learning rate of 0 (weights fixed), the returned mean batch BCE", rel=1e-4)

    @rubric(1.5, "updates the model so that the loss goes down")
    def test_learns(self, student):
        train = _loop(student, "train")
        data = _loop_data(256)
        start = _batch_losses(_local("TinyNet", 0), data, 32)
        model = student.standin("TinyNet", seed=0)
        before = _flat_state(model.state())
        opt = student.make("optimizer", kind="Adam", params_of=model, lr=0.05)
        loader = student.make("loader", dataset=Recipe("tensor_dataset", {"tensors": list(data)}), batch_size=32,
                              shuffle=True, seed=0)
        losses = [as_float(train(model, loader, opt, what="train(...)"), "train") for _ in range(15)]
        state = model.state()
        if torch.equal(before, _flat_state(state)):
            raise CheckFailed("the model's parameters did not change: call loss.backward() and optimizer.step()")
        end = _batch_losses(_local("TinyNet", 0, state), data, 32)
        if not (end < 0.8 * start and losses[-1] < losses[0]):
            raise CheckFailed(f"15 epochs on easy data took the loss from {start:.3f} to {end:.3f} only: "
                              "zero the gradients each batch and step the optimizer")

    @rubric(0.5, "clips the gradient norm to 1")
    def test_clips(self, student):
        train = _loop(student, "train")
        model = student.standin("SteepNet", seed=4)
        before = _flat_state(model.state())
        opt = student.make("optimizer", kind="SGD", params_of=model, lr=1.0)
        train(model, _loader(_loop_data(64, seed=7), 64), opt, what="train(...)")
        moved = float((_flat_state(model.state()) - before).norm())
        if not moved <= 1.0 + 1e-3:
            raise CheckFailed(f"one SGD step with lr=1 moved the weights by {moved:.2f}: clip the gradient norm "
                              "to 1 between loss.backward() and optimizer.step()")


@graded("validate")
class TestValidate:
    @rubric(1.5, "returns the mean batch BCE loss in eval mode")
    def test_value(self, student):
        validate = _loop(student, "validate")
        data = _loop_data(seed=4)
        want = _batch_losses(_local("TinyNet", 1, dropout=0.5), data)
        model = student.standin("TinyNet", seed=1, dropout=0.5).set_mode(True)   # as after a training epoch
        got = as_float(validate(model, _loader(data), what="validate(model, loader)"), "validate")
        assert_close(got, want, "mean batch BCE (in eval mode, so dropout is off)", rel=1e-4)

    @rubric(1, "leaves the model unchanged and computes no gradients")
    def test_no_update(self, student):
        validate = _loop(student, "validate")
        model = student.standin("TinyNet", seed=2)
        before = _flat_state(model.state())
        validate(model, _loader(_loop_data(seed=5)), what="validate(model, loader)")
        if not torch.equal(before, _flat_state(model.state())):
            raise CheckFailed("validate changed the model's parameters")
        if any(g is not None for g in model.grads().values()):
            raise CheckFailed("validate computed gradients: wrap it in torch.no_grad()")


@graded("evaluate")
class TestEvaluate:
    @rubric(2, "returns (predictions, targets) NumPy arrays, in order, in eval mode")
    def test_values(self, student):
        evaluate = _loop(student, "evaluate")
        X, y = data = _loop_data(seed=6)
        out = evaluate(student.standin("TinyNet", seed=3, dropout=0.5), _loader(data),
                       what="evaluate(model, loader)")
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise CheckFailed("evaluate should return a pair (predictions, targets)")
        pred, target = out
        if not (isinstance(pred, np.ndarray) and isinstance(target, np.ndarray)):
            raise CheckFailed(f"expected NumPy arrays, got {_shown(pred)} and {_shown(target)}")
        if pred.size != len(X) or target.size != len(X):
            raise CheckFailed(f"{pred.size} predictions and {target.size} targets for {len(X)} sequences")
        model = _local("TinyNet", 3, dropout=0.5).eval()
        with torch.no_grad():
            want = model(X).numpy().reshape(-1)
        if not np.allclose(target.reshape(-1).astype(np.float64), y.numpy().reshape(-1)):
            raise CheckFailed("targets are not the labels in loader order")
        if not np.allclose(pred.reshape(-1).astype(np.float64), want, atol=1e-5):
            raise CheckFailed("predictions are not the model's probabilities in eval mode, in loader order")


# ---------------------------------------------------------------- ImageDataset
IMAGE_SIZE = 256
N_PAIRS = 3


def _blob_mask(rng: np.random.Generator) -> np.ndarray:
    yy, xx = np.mgrid[0:IMAGE_SIZE, 0:IMAGE_SIZE]
    mask = np.zeros((IMAGE_SIZE, IMAGE_SIZE), bool)
    for _ in range(6):
        cy, cx = rng.uniform(20, IMAGE_SIZE - 20, 2)
        ry, rx = rng.uniform(8, 40, 2)
        mask |= ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1
    mask[10:30, 5:120] = True          # a bar near one edge: makes every rotation and flip visible
    return mask


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


@functools.lru_cache(maxsize=1)
def _image_files(seed: int = 0) -> tuple:
    """({file name: PNG bytes}, [(image, mask) pixels as read_image / read_mask give them]).

    Each mask is exactly (image > 0.5): image = 0.1 + 0.25 * x / W + 0.5 * mask.
    """
    rng = np.random.default_rng(seed)
    ramp = np.linspace(0, 1, IMAGE_SIZE)[None, :]
    files, pixels = {}, []
    for k in range(N_PAIRS):
        mask = _blob_mask(rng)
        image = ((0.1 + 0.25 * ramp + 0.5 * mask) * 255).round().astype(np.uint8)
        mask_u8 = mask.astype(np.uint8) * 255
        files[f"{k}_cells.png"], files[f"{k}_masks.png"] = _png(image), _png(mask_u8)
        pixels.append((image.astype(np.float32) / 255.0, (mask_u8 > 127).astype(np.float32)))
    return files, pixels


def _image_dataset(student, augment: bool):
    """The student's ImageDataset over the check's PNG pairs, written into the worker's scratch folder."""
    student.defined("ImageDataset")
    paths = student.write_files(_image_files()[0])
    pairs = [(paths[2 * k], paths[2 * k + 1]) for k in range(N_PAIRS)]
    return student.cls("ImageDataset").build(pairs, augment=augment, what=f"ImageDataset(paths, augment={augment})")


def _check_item(item):
    if not (isinstance(item, (tuple, list)) and len(item) == 2):
        raise CheckFailed("an item should be a pair (image, mask)")
    for name, t in zip(("image", "mask"), item):
        if not torch.is_tensor(t) or t.dtype != torch.float32 or tuple(t.shape) != (1, IMAGE_SIZE, IMAGE_SIZE) \
                or t.device.type == "meta":
            shape = tuple(t.shape) if torch.is_tensor(t) else _shown(t)
            raise CheckFailed(f"{name} should be a float32 tensor of shape (1, 256, 256); got {shape}")
    return tuple(t.cpu() for t in item)


def _item(ds, i: int, label: str):
    return _check_item(ds.method("__getitem__")(i, what=f"{label}[{i}]"))


def _aligned_fraction(image, mask) -> float:
    return float(((image[0] > 0.5).float() == mask[0]).float().mean())


N_DRAWS = 12


@graded("ImageDataset")
class TestImageDataset:
    @step(budget_s=30)
    def plain(self, student):
        ds = _image_dataset(student, False)
        n = len_of(ds, what="len(dataset)")
        if n != N_PAIRS:
            raise CheckFailed(f"len(dataset) is {n} for {N_PAIRS} pairs")
        _item(ds, 0, "dataset")
        return True

    @step(budget_s=30)
    def draws(self, student, plain):
        """Twelve draws of item 0 with augmentation, in one seeded request; at least one must be rotated."""
        plain.needed
        original = _item(_image_dataset(student, False), 0, "dataset")[0]
        ds = _image_dataset(student, True)
        draws = []
        for item in ds.method("__getitem__").many([(0,)] * N_DRAWS, what="augmented dataset[0]", seed=0):
            if isinstance(item, StudentError):
                raise item
            draws.append(_check_item(item))
        if all(torch.allclose(image, original, atol=1e-6) for image, _ in draws):
            raise CheckFailed(f"with augment=True, {N_DRAWS} draws of the same item were never rotated")
        return draws

    @pytest.fixture
    def dataset(self, student, plain):
        plain.needed
        return _image_dataset(student, False)

    @rubric(1, "length and items: float32 tensors (1, 256, 256)")
    def test_shapes(self, plain):
        plain.value

    @rubric(1, "image in [0, 1] and 0/1 mask read from the files")
    def test_values(self, dataset):
        for i, (image_px, mask_px) in enumerate(_image_files()[1]):
            image, mask = _item(dataset, i, "dataset")
            if not np.allclose(image[0].numpy(), image_px, atol=1e-6):
                raise CheckFailed("without augmentation the image should be the file's pixels scaled to [0, 1] "
                                  "(course_lib.data.nuclei.read_image)")
            if not np.array_equal(mask[0].numpy(), mask_px):
                raise CheckFailed("without augmentation the mask should be the file's 0/1 mask (read_mask)")

    @rubric(0.5, "augment=False returns the same item every time")
    def test_no_augment(self, dataset):
        first = _item(dataset, 1, "dataset")
        second = _item(dataset, 1, "dataset")
        if not all(torch.equal(a, b) for a, b in zip(first, second)):
            raise CheckFailed("with augment=False the same item should come back unchanged every time")

    @rubric(1, "augment=True rotates the items")
    def test_augments(self, draws):
        draws.value

    @rubric(2, "augmentation keeps image and mask aligned")
    def test_aligned(self, draws):
        worst = min(_aligned_fraction(image, mask) for image, mask in draws.needed)
        if worst < 0.97:
            raise CheckFailed(f"after augmentation the mask covers a different region than the nuclei in the image "
                              f"(only {worst:.0%} of pixels agree): rotate image and mask together")


# ---------------------------------------------------------------- dice_loss
def _dice_case(shape, seed: int, coverage: float = 0.3, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    pred = torch.rand(shape, generator=g).to(dtype)
    target = (torch.rand(shape, generator=g) < coverage).to(dtype)
    return pred, target


@graded("dice_loss")
class TestDiceLoss:
    @pytest.fixture
    def loss(self, student):
        student.defined("dice_loss")
        return student.function("dice_loss")

    @staticmethod
    def _value(loss, pred, target, what: str) -> float:
        return as_float(loss(pred, target, what=f"dice_loss {what}"), "dice_loss")

    @rubric(0.5, "returns a scalar tensor connected to pred")
    def test_scalar(self, loss):
        pred, target = _dice_case((2, 1, 16, 16), 0)
        out = loss(pred.requires_grad_(True), target, what="dice_loss(pred, target)")
        if not torch.is_tensor(out) or out.dim() != 0:
            raise CheckFailed("expected a 0-d tensor")
        if not out.requires_grad:
            raise CheckFailed("the loss is not connected to pred (no gradient)")

    @rubric(2, "1 − (2·Σpt + 1)/(Σp + Σt + 1) on random inputs of several shapes")
    def test_matches(self, loss):
        for i, shape in enumerate([(4, 1, 32, 32), (2, 1, 256, 256), (1, 1, 3, 3), (5, 1, 8, 8)]):
            pred, target = _dice_case(shape, i + 1, coverage=0.3 if i % 2 else 0.05)
            assert_close(self._value(loss, pred, target, what=f"on shape {shape}"),
                         float(ref.dice_loss(pred, target)), f"on random inputs of shape {shape}", rel=1e-5)

    @rubric(1, "smoothing: empty prediction of an empty mask gives 0, not nan")
    def test_smoothing(self, loss):
        empty = torch.zeros(2, 1, 8, 8)
        got = self._value(loss, empty, empty, what="with an empty prediction and an empty mask")
        if not math.isfinite(got):
            raise CheckFailed("an empty prediction of an empty mask gives nan: keep the +1 in numerator and "
                              "denominator")
        assert_close(got, 0.0, "empty prediction of an empty mask (a perfect answer)")
        one = torch.zeros(1, 1, 4, 4)
        one[0, 0, 0, 0] = 1
        assert_close(self._value(loss, one, empty[:1, :, :4, :4], what="with one false positive"),
                     float(ref.dice_loss(one, empty[:1, :, :4, :4])), "one false-positive pixel, empty mask")

    @rubric(0.5, "perfect and inverted predictions")
    def test_extremes(self, loss):
        mask = _dice_case((2, 1, 32, 32), 9)[1]
        perfect = self._value(loss, mask.clone(), mask, what="for a perfect prediction")
        wrong = self._value(loss, 1 - mask, mask, what="for an inverted prediction")
        assert_close(perfect, float(ref.dice_loss(mask, mask)), "perfect prediction")
        assert_close(wrong, float(ref.dice_loss(1 - mask, mask)), "inverted prediction")

    @rubric(0.5, "gradient is that of the Dice loss")
    def test_gradient(self, loss):
        expect_same_gradient(loss, ref.dice_loss, _dice_case((2, 1, 16, 16), 10), "the Dice loss", "pred")

    @rubric(0.5, "accepts tensors on the GPU", gpu=True)
    def test_gpu(self, loss):
        pred, target = _dice_case((2, 1, 32, 32), 11)
        got = self._value(loss, *cuda(pred, target), what="with CUDA tensors")
        assert_close(got, float(ref.dice_loss(pred, target)), "with CUDA tensors", rel=1e-5)


# ---------------------------------------------------------------- dice_score / iou_score
def _score_case(seed: int):
    rng = np.random.default_rng(seed)
    pred = rng.random((64, 64)).astype(np.float32)
    target = (rng.random((64, 64)) < 0.3).astype(np.float32)
    return pred, target


def _mask_score_tests(name: str, metric, label: str):
    """The test class of `name` (dice_score or iou_score), checked against scikit-learn's `metric`."""
    @graded(name)
    class MaskScoreTests:
        @pytest.fixture
        def score(self, student):
            student.defined(name)
            fn = student.function(name)
            return lambda *args, what: as_float(fn(*args, what=what), name)

        @rubric(1, f"{label} of masks thresholded at 0.5 (arrays and tensors)")
        def test_matches(self, score):
            for seed in range(3):
                pred, target = _score_case(seed)
                want = metric(target.reshape(-1) > 0.5, pred.reshape(-1) > 0.5)
                for kind, args in {"NumPy arrays": (pred, target),
                                   "tensors": (torch.from_numpy(pred), torch.from_numpy(target))}.items():
                    assert_close(score(*args, what=f"{name} with {kind}"), want,
                                 f"{name} of thresholded masks ({kind})")

        @rubric(0.5, "two empty masks give 1")
        def test_empty(self, score):
            empty = np.zeros((16, 16), np.float32)
            assert_close(score(empty, empty, what=f"{name} of two empty masks"), 1.0,
                         "two empty masks agree perfectly")

    MaskScoreTests.__name__ = MaskScoreTests.__qualname__ = f"Test{label}Score"
    return MaskScoreTests


TestDiceScore = _mask_score_tests("dice_score", f1_score, "Dice")
TestIoUScore = _mask_score_tests("iou_score", jaccard_score, "IoU")
