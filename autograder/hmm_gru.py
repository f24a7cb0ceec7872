"""Hidden checks for the `hmm_gru` assignment."""
from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import torch
from scipy import stats
from torch import nn

from course_lib.hmm import sample, symmetric_hmm
from course_lib.reference import hmm_gru as ref

from .core import Check, CheckFailed, Property, student_error
from .functions import as_float, assert_close, call, cuda_or_skip
from .models import LayerRule, LearnTask, ModelSpec, find_modules, model_check

DNA, STATES = "ACGT", "HL"
CHECK_LEN = 50          # sequence length of the random inputs the model checks use


def _random_string(rng: np.random.Generator, alphabet: str, length: int) -> str:
    return "".join(rng.choice(list(alphabet), size=length))


def _as_int_list(value, what: str) -> list:
    """Student output (tensor, array or list of integers) -> a list of Python ints."""
    try:
        if torch.is_tensor(value):
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
    except Exception:
        raise CheckFailed(f"{what} returned {type(value).__name__}, expected a sequence of integers") from None
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise CheckFailed(f"{what} returned shape {arr.shape} of {arr.dtype}, expected a 1-D sequence of integers")
    return arr.astype(np.int64).tolist()


def _raises_value_error(fn, *args, what: str) -> None:
    """Pass if fn(*args) raises ValueError; CheckFailed naming what happened otherwise."""
    try:
        result = fn(*args)
    except ValueError:
        return
    except NotImplementedError:
        raise CheckFailed("not implemented yet") from None
    except Exception as exc:
        raise CheckFailed(f"{what} should raise ValueError, but it raised {type(exc).__name__}") from None
    shown = repr(result)
    raise CheckFailed(f"{what} should raise ValueError, but it returned {shown[:60]}")


@contextlib.contextmanager
def one_torch_thread():
    """Run with one torch thread, then restore: a GRU of a few units gains nothing from more threads,
    and on a busy machine two threads fighting for cores made its training 20x slower."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def single_threaded(prop: Property) -> Property:
    """The same property, its test run under `one_torch_thread`."""
    def test(ctx):
        with one_torch_thread():
            return prop.test(ctx)
    return dataclasses.replace(prop, test=test)


# ---------------------------------------------------------------- encode_seq
def _encode_matches(seqtype: str, alphabet: str):
    def test(ctx):
        rng = np.random.default_rng(len(alphabet))
        for length in (1, 7, 120):
            s = _random_string(rng, alphabet, length)
            got = _as_int_list(call(ctx["subject"], s, seqtype, what=f"encode_seq(..., {seqtype!r})"),
                               "encode_seq")
            want = ref.encode_seq(s, seqtype).tolist()
            if got != want:
                order = ", ".join(f"{a}={i}" for i, a in enumerate(alphabet))
                raise CheckFailed(f"encode_seq of a {seqtype} string gives the wrong indices (expected {order})")
    return test


def _encode_tensor(ctx):
    out = call(ctx["subject"], "GATTACA", "dna", what="encode_seq('GATTACA', 'dna')")
    if not torch.is_tensor(out) or out.dtype != torch.long or out.dim() != 1:
        kind = f"tensor of {out.dtype} with shape {tuple(out.shape)}" if torch.is_tensor(out) else type(out).__name__
        raise CheckFailed(f"expected a 1-D torch.long tensor (what nn.Embedding takes), got {kind}")


def _encode_invalid(ctx):
    fn = ctx["subject"]
    for s, seqtype in (("ACGX", "dna"), ("ACGU", "dna"), ("HHLQ", "state"), ("ACGT", "state")):
        _raises_value_error(fn, s, seqtype, what=f"encode_seq({s!r}, {seqtype!r})")


def _bad_seqtype(args, what):
    """A property test: the subject called with an unknown seqtype raises ValueError."""
    def test(ctx):
        _raises_value_error(ctx["subject"], *args, what=what)
    return test


ENCODE_CHECK = Check("encode_seq", [
    Property("DNA letters map to A=0, C=1, G=2, T=3", 1.5, _encode_matches("dna", DNA)),
    Property("states map to H=0, L=1", 1, _encode_matches("state", STATES)),
    Property("returns a 1-D torch.long tensor", 0.5, _encode_tensor),
    Property("invalid letters raise ValueError", 1, _encode_invalid),
    Property("an unknown seqtype raises ValueError", 0.5,
             _bad_seqtype(("ACGT", "protein"), "encode_seq('ACGT', 'protein')")),
])


# ---------------------------------------------------------------- decode_seq
def _decode_inverse(seqtype: str, alphabet: str):
    def test(ctx):
        rng = np.random.default_rng(10 + len(alphabet))
        for length in (1, 9, 200):
            s = _random_string(rng, alphabet, length)
            got = call(ctx["subject"], ref.encode_seq(s, seqtype), seqtype, what=f"decode_seq(..., {seqtype!r})")
            if got != s:
                raise CheckFailed(f"decode_seq(encode_seq(s, {seqtype!r}), {seqtype!r}) does not give back s")
    return test


def _decode_types(ctx):
    s = "GATTACACCG"
    idx = ref.encode_seq(s, "dna")
    for label, value in {"a NumPy array": idx.numpy(), "a list": idx.tolist(),
                         "an int32 tensor": idx.int()}.items():
        got = call(ctx["subject"], value, "dna", what=f"decode_seq of {label}")
        if got != s:
            raise CheckFailed(f"decode_seq of {label} gives {str(got)[:20]!r}, expected {s!r}")


def _decode_invalid(ctx):
    fn = ctx["subject"]
    for idx, seqtype in (([0, 4, 1], "dna"), ([0, 1, 2], "state"), ([5], "dna")):
        _raises_value_error(fn, torch.tensor(idx), seqtype, what=f"decode_seq({idx}, {seqtype!r})")


def _decode_empty(ctx):
    got = call(ctx["subject"], torch.zeros(0, dtype=torch.long), "dna", what="decode_seq of an empty tensor")
    if got != "":
        raise CheckFailed(f"decode_seq of an empty tensor should give '', got {str(got)[:20]!r}")


DECODE_CHECK = Check("decode_seq", [
    Property("inverts encode_seq for DNA", 1.5, _decode_inverse("dna", DNA)),
    Property("inverts encode_seq for states", 1, _decode_inverse("state", STATES)),
    Property("accepts tensors, NumPy arrays and lists", 0.5, _decode_types),
    Property("out-of-range indices raise ValueError", 0.5, _decode_invalid),
    Property("empty input gives the empty string", 0.5, _decode_empty),
    Property("an unknown seqtype raises ValueError", 0.5,
             _bad_seqtype((torch.tensor([0, 1]), "rna"), "decode_seq(..., 'rna')")),
])


# ---------------------------------------------------------------- GRUTagger
# Strong emissions: on sequences of 64 bp, guessing from each base alone is right 90 % of the time,
# forward-only decoding 93 % and posterior decoding 97 %. The reference GRUTagger(4, 16, 2) reaches 0.93
# after 150 steps; a model that cannot learn stays near 0.5. The bar (0.88) asks for a model that learns.
EASY_HMM = symmetric_hmm(stay=0.95, gc_rich=0.45)


def _gru_inputs(batch_size: int, gen: torch.Generator):
    return (torch.randint(0, 4, (batch_size, CHECK_LEN), generator=gen),)


def _hmm_tagging_data(gen: torch.Generator, n_train: int = 1024, n_valid: int = 256, length: int = 64):
    """Sequences from an HMM with strong emissions; targets are the hidden states (H=0, L=1)."""
    rng = np.random.default_rng(int(torch.randint(0, 2**31, (1,), generator=gen)))
    bases, states = sample(n_train + n_valid, length, EASY_HMM, rng)
    x, y = torch.from_numpy(bases.astype(np.int64)), torch.from_numpy(states.astype(np.int64))
    return (x[:n_train], y[:n_train]), (x[n_train:], y[n_train:])


def _tag_accuracy(log_probs, states) -> float:
    return float((log_probs.argmax(-1) == states).float().mean())


def _embedding_and_gru(model):
    if not find_modules(model, nn.Embedding):
        return "no nn.Embedding layer found (embed the symbol indices first)"
    if not find_modules(model, nn.GRU):
        return "no nn.GRU layer found"
    return None


def _build(cls, *args, **kwargs):
    try:
        torch.manual_seed(0)
        return cls(*args, **kwargs)
    except NotImplementedError:
        raise CheckFailed("not implemented yet") from None
    except Exception as exc:
        shown = ", ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs.items())])
        raise CheckFailed(f"GRUTagger({shown}) {student_error(exc)}") from None


def _run(model, x):
    model.eval()
    with torch.no_grad():
        out = model(x)
    if not torch.is_tensor(out):
        raise CheckFailed(f"forward returned {type(out).__name__}, expected a tensor")
    return out


def _log_softmax_states(ctx):
    model = _build(ctx["subject"], 4, 8, 3)
    out = _run(model, torch.randint(0, 4, (6, 20), generator=torch.Generator().manual_seed(1)))
    if tuple(out.shape) != (6, 20, 3):
        raise CheckFailed(f"with predict_size=3 the output shape is {tuple(out.shape)}, expected (6, 20, 3)")
    sums = out.exp().sum(-1)
    if not torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
        raise CheckFailed("exp(output) does not sum to 1 over the state axis (last axis): "
                          "apply log-softmax over the states")


def _constructor_args(ctx):
    model = _build(ctx["subject"], 5, 12, 3, n_layers=2)
    grus = find_modules(model, nn.GRU)
    embs = find_modules(model, nn.Embedding)
    if not grus or not embs:
        raise CheckFailed("expected an nn.Embedding and an nn.GRU")
    if embs[0].num_embeddings < 5:
        raise CheckFailed(f"input_size=5 but nn.Embedding has {embs[0].num_embeddings} rows")
    if grus[0].hidden_size != 12 or grus[0].num_layers != 2:
        raise CheckFailed(f"hidden_size=12, n_layers=2 gave an nn.GRU with hidden_size={grus[0].hidden_size}, "
                          f"num_layers={grus[0].num_layers}")
    out = _run(model, torch.randint(0, 5, (3, 11), generator=torch.Generator().manual_seed(2)))
    if tuple(out.shape) != (3, 11, 3):
        raise CheckFailed(f"input_size=5, predict_size=3: output shape {tuple(out.shape)}, expected (3, 11, 3)")


def _changed_tail_effect(model, length: int = 30):
    """Max change of the outputs at positions 0..length-2 when only the last input symbol changes."""
    x = torch.randint(0, 4, (4, length), generator=torch.Generator().manual_seed(3))
    x2 = x.clone()
    x2[:, -1] = (x2[:, -1] + 1) % 4
    return float((_run(model, x)[:, :-1] - _run(model, x2)[:, :-1]).abs().max())


def _bidirectional(ctx):
    model = _build(ctx["subject"], 4, 8, 2, bidirectional=True)
    grus = find_modules(model, nn.GRU)
    if not grus or not grus[0].bidirectional:
        raise CheckFailed("bidirectional=True should create an nn.GRU with bidirectional=True")
    if _changed_tail_effect(model) < 1e-6:
        raise CheckFailed("with bidirectional=True, earlier outputs ignore later symbols")


def _causal(ctx):
    model = _build(ctx["subject"], 4, 8, 2)
    if _changed_tail_effect(model) > 1e-6:
        raise CheckFailed("with bidirectional=False, the output at a position depends on later symbols "
                          "(it should read left to right only)")


_GRU_SPEC = ModelSpec(
    title="GRUTagger",
    make_inputs=_gru_inputs,
    output_shape=lambda b: (b, CHECK_LEN, 2),
    input_names=("x",),
    inputs=(0,),
    targets=(1,),
    build=lambda cls: cls(4, 16, 2),
    layers=(LayerRule("uses nn.Embedding and nn.GRU", 1, _embedding_and_gru),),
    param_range=(100, 200_000),
    learn=LearnTask(make_data=_hmm_tagging_data, loss=ref.tagging_loss, metric=_tag_accuracy, bar=0.88,
                    steps=150, batch_size=32, lr=1e-2, metric_name="positional accuracy", points=2,
                    budget_s=90),
    points={"independent": 0.5},
)
_GRU_BASE = model_check(_GRU_SPEC)
GRU_CHECK = Check("GRUTagger", [single_threaded(p) for p in _GRU_BASE.properties] + [
    Property("log-softmax over the state axis", 1, _log_softmax_states),
    Property("input_size, hidden_size, predict_size and n_layers are used", 1, _constructor_args),
    Property("bidirectional=True reads the sequence both ways", 1, _bidirectional),
    Property("bidirectional=False reads left to right only", 1, _causal),
], setup=_GRU_BASE.setup)


# ---------------------------------------------------------------- predict
# A stand-in tagger: each base alone decides the state (A, T -> mostly L; C, G -> mostly H).
_BASE_LOG_PROBS = torch.log(torch.tensor([[0.2, 0.8], [0.7, 0.3], [0.9, 0.1], [0.35, 0.65]]))


class _BaseLookupTagger(nn.Module):
    """Per-base log-probabilities from a table; in training mode the table is flipped (like heavy dropout)."""

    def __init__(self):
        super().__init__()
        self.table = nn.Parameter(_BASE_LOG_PROBS.clone())

    def forward(self, x):
        table = self.table if not self.training else self.table.flip(-1)
        return table[x]


def _expected(dna: str):
    probs = _BASE_LOG_PROBS.exp()[ref.encode_seq(dna, "dna")].numpy()
    return ref.decode_seq(probs.argmax(-1), "state"), probs


def _predict_on(ctx, dna: str, model=None, what: str = "predict(model, dna)"):
    model = model if model is not None else _BaseLookupTagger().eval()
    out = call(ctx["subject"], model, dna, what=what)
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed(f"expected a tuple (state string, probabilities), got {type(out).__name__}")
    states, probs = out
    if torch.is_tensor(probs):
        probs = probs.detach().float().cpu().numpy()
    try:
        probs = np.asarray(probs, dtype=np.float64)
    except Exception:
        raise CheckFailed("the probabilities are not numeric (return an array or tensor)") from None
    return states, probs


def _predict_form(ctx):
    states, probs = _predict_on(ctx, "ACGTTGCA")
    if not isinstance(states, str) or len(states) != 8:
        raise CheckFailed(f"the first element should be a string of 8 states, got {str(states)[:20]!r}")
    if probs.shape != (8, 2):
        raise CheckFailed(f"probabilities have shape {probs.shape}, expected (length, n_states) = (8, 2)")


def _predict_states(ctx):
    rng = np.random.default_rng(20)
    for length in (1, 40, 300):
        dna = _random_string(rng, DNA, length)
        states, _ = _predict_on(ctx, dna)
        if states != _expected(dna)[0]:
            raise CheckFailed("the state string is not the most likely state (decoded as H/L) at each position")


def _predict_probs(ctx):
    dna = _random_string(np.random.default_rng(21), DNA, 60)
    _, probs = _predict_on(ctx, dna)
    want = _expected(dna)[1]
    if probs.shape != want.shape:
        raise CheckFailed(f"probabilities have shape {probs.shape}, expected {want.shape}")
    if not np.allclose(probs, want, atol=1e-5):
        hint = " (they look like log-probabilities: exponentiate)" if (probs <= 0).all() else ""
        raise CheckFailed("the probabilities are not the model's per-position state probabilities" + hint)


def _predict_eval(ctx):
    dna = "GATTACAGGC"
    states, _ = _predict_on(ctx, dna, model=_BaseLookupTagger().train())
    if states != _expected(dna)[0]:
        raise CheckFailed("a model left in training mode gives other states: call model.eval() first")


def _predict_invalid(ctx):
    _raises_value_error(ctx["subject"], _BaseLookupTagger().eval(), "ACGN", what="predict(model, 'ACGN')")


def _predict_gpu(ctx):
    device = cuda_or_skip()
    dna = "ACGTACGTTTGC"
    states, probs = _predict_on(ctx, dna, model=_BaseLookupTagger().eval().to(device),
                                what="predict with the model on the GPU")
    if states != _expected(dna)[0]:
        raise CheckFailed("with the model on the GPU the predicted states are wrong")


PREDICT_CHECK = Check("predict", [
    Property("returns (state string, (L, n_states) probabilities)", 0.5, _predict_form),
    Property("the string holds the most likely state at each position", 1.5, _predict_states),
    Property("probabilities are the model's (exp of its log-probabilities)", 1, _predict_probs),
    Property("puts the model in evaluation mode", 0.5, _predict_eval),
    Property("invalid DNA letters raise ValueError", 0.5, _predict_invalid),
    Property("works with the model on the GPU", 0.5, _predict_gpu),
])


# ---------------------------------------------------------------- fraction_matches
def _fm_value(ctx, a, b, what: str) -> float:
    return as_float(call(ctx["subject"], a, b, what=what), "fraction_matches")


def _fm_matches(ctx):
    rng = np.random.default_rng(30)
    for length in (1, 13, 500):
        a, b = _random_string(rng, STATES, length), _random_string(rng, STATES, length)
        assert_close(_fm_value(ctx, a, b, "on random state strings"), ref.fraction_matches(a, b),
                     f"two random state strings of length {length}")
    a = _random_string(rng, DNA, 50)
    assert_close(_fm_value(ctx, a, a, "on identical strings"), 1.0, "identical strings")
    assert_close(_fm_value(ctx, "HHHH", "LLLL", "on opposite strings"), 0.0, "strings that never agree")


def _fm_types(ctx):
    a, b = "HLLHHLHL", "HLHHLLHH"
    want = ref.fraction_matches(a, b)
    for label, args in {"lists of letters": (list(a), list(b)),
                        "a string and a list": (a, list(b)),
                        "integer arrays": (ref.encode_seq(a, "state").numpy(), ref.encode_seq(b, "state").numpy())
                        }.items():
        assert_close(_fm_value(ctx, *args, f"with {label}"), want, f"with {label}")


def _fm_lengths(ctx):
    _raises_value_error(ctx["subject"], "HLLH", "HLL", what="fraction_matches of lengths 4 and 3")


def _fm_empty(ctx):
    _raises_value_error(ctx["subject"], "", "", what="fraction_matches('', '')")


FRACTION_CHECK = Check("fraction_matches", [
    Property("the fraction of positions that agree", 2, _fm_matches),
    Property("accepts strings, lists and integer arrays", 0.5, _fm_types),
    Property("different lengths raise ValueError", 1, _fm_lengths),
    Property("empty sequences raise ValueError (undefined fraction)", 0.5, _fm_empty),
])


# ---------------------------------------------------------------- sim_prob_match
N_DRAWS = 20_000
SIM_CASES = ((0.6, "HL", 20), (0.3, "ACGT", 40), (0.55, "HL", 100), (1.0, ["H", "L"], 3))


def binomial_tail(fraction: float, n_symbols: int, length: int) -> float:
    """P(Binomial(length, 1/n_symbols) >= fraction * length): the exact chance of matching that well."""
    need = int(np.ceil(fraction * length - 1e-9))
    return float(stats.binom.sf(need - 1, length, 1.0 / n_symbols))


def _sim_value(ctx, *args, what: str = "sim_prob_match(...)") -> float:
    return as_float(call(ctx["subject"], *args, what=what), "sim_prob_match")


def _sim_probability(ctx):
    p = _sim_value(ctx, 0.6, "HL", 20, 1000)
    if not 0.0 <= p <= 1.0:
        raise CheckFailed(f"returned {p:.4g}, which is not a probability")


def _sim_binomial(ctx):
    for fraction, symbols, length in SIM_CASES:
        got = _sim_value(ctx, fraction, symbols, length, N_DRAWS)
        want = binomial_tail(fraction, len(set(symbols)), length)
        tol = 4.5 * np.sqrt(want * (1 - want) / N_DRAWS) + 2e-3
        if not abs(got - want) <= tol:
            raise CheckFailed(f"fraction={fraction}, {len(set(symbols))} symbols, length={length}: got {got:.4f}; "
                              f"the exact chance of matching at least that well is {want:.4f}")


def _sim_edges(ctx):
    got = _sim_value(ctx, 0.0, "HL", 30, 2000)
    assert_close(got, 1.0, "fraction=0 (every pair matches at least that well)")
    got = _sim_value(ctx, 1.01, "ACGT", 5, 2000)
    assert_close(got, 0.0, "fraction above 1")


def _sim_deterministic(ctx):
    first = _sim_value(ctx, 0.55, "HL", 50, 3000)
    np.random.seed(12345)
    torch.manual_seed(12345)
    second = _sim_value(ctx, 0.55, "HL", 50, 3000)
    if first != second:
        raise CheckFailed(f"two calls with the same arguments gave {first} and {second}: use a seeded generator")


SIM_CHECK = Check("sim_prob_match", [
    Property("returns a probability", 0.5, _sim_probability),
    Property("agrees with the binomial tail P(matches >= fraction * length)", 2, _sim_binomial, budget_s=60),
    Property("edge cases: fraction 0 gives 1, fraction above 1 gives 0", 0.5, _sim_edges),
    Property("the same arguments give the same answer (seeded)", 1, _sim_deterministic),
])

# ---------------------------------------------------------------- train_tagger
TRAIN_ROWS, VALID_ROWS, TRAIN_EPOCHS, TRAIN_BATCH = 192, 64, 3, 32


class _Recorder(nn.Module):
    """Wraps a working tagger and counts the rows of every training-mode forward pass."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.tagger = ref.GRUTagger(4, 8, 2)
        self.train_batches = []

    def forward(self, x):
        if self.training and torch.is_grad_enabled():
            self.train_batches.append(tuple(x.shape))
        return self.tagger(x)


def _base_rule_sets():
    """State H for C/G bases, L for A/T; the validation set holds other (and fewer) sequences."""
    from course_lib.data.hmm import HMMDataset, HMMSplit

    rng = np.random.default_rng(40)
    bases = rng.integers(0, 4, (TRAIN_ROWS + VALID_ROWS, 20)).astype(np.int8)
    states = np.isin(bases, [0, 3]).astype(np.int8)          # A/T -> L (1), C/G -> H (0)
    train = HMMSplit([], [], bases[:TRAIN_ROWS], states[:TRAIN_ROWS], "train")
    valid = HMMSplit([], [], bases[TRAIN_ROWS:], states[TRAIN_ROWS:], "valid")
    return HMMDataset(train), HMMDataset(valid)


def _train_setup(subject):
    return {"subject": subject}


def _trained(ctx):
    train, valid = _base_rule_sets()
    model = _Recorder()
    call(ctx["subject"], model, train, valid, TRAIN_EPOCHS, TRAIN_BATCH, 1e-2,
         what=f"train_tagger(model, train_set, valid_set, {TRAIN_EPOCHS}, {TRAIN_BATCH}, 0.01)")
    ctx.update(model=model, train=train)


def _train_batched(ctx):
    shapes = ctx["model"].train_batches
    if not shapes:
        raise CheckFailed("the model was never called in training mode with gradients on")
    if max(s[0] for s in shapes) < 2:
        raise CheckFailed("the model saw one sequence at a time: train on mini-batches of sequences")
    if any(len(s) != 2 or s[1] != 20 for s in shapes):
        raise CheckFailed("expected batches of whole sequences, shape (batch_size, length)")


def _train_learns(ctx):
    model, train = ctx["model"].tagger.cpu().eval(), ctx["train"]
    with torch.no_grad():
        acc = _tag_accuracy(model(train.bases), train.states)
    if acc < 0.9:
        raise CheckFailed(f"after training, the model tags {acc:.0%} of the training positions right on data "
                          f"where each base decides its state; expected at least 90 %")


def _train_only_train_set(ctx):
    rows = sum(s[0] for s in ctx["model"].train_batches)
    want = TRAIN_EPOCHS * TRAIN_ROWS
    if not 0.9 * want <= rows <= 1.1 * want:
        raise CheckFailed(f"{TRAIN_EPOCHS} epochs over {TRAIN_ROWS} training sequences should train on about "
                          f"{want} sequences, but {rows} went through the model in training mode: train on "
                          f"the training set only (never on the validation or test set)")


TRAIN_CHECK = Check("train_tagger", [
    single_threaded(Property("trains (no error)", 0.5, _trained, provides=("model", "train"), budget_s=120)),
    Property("mini-batches of whole sequences", 1, _train_batched, needs=("model",)),
    Property("learns the training labels (NLL over every position)", 1.5, _train_learns, needs=("model",)),
    Property("trains on the training set only, once per epoch", 1, _train_only_train_set, needs=("model",)),
], setup=_train_setup)

CHECKS = {"encode_seq": ENCODE_CHECK, "decode_seq": DECODE_CHECK, "GRUTagger": GRU_CHECK,
          "predict": PREDICT_CHECK, "fraction_matches": FRACTION_CHECK, "sim_prob_match": SIM_CHECK, "train_tagger": TRAIN_CHECK}
