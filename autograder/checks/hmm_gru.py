"""Hidden checks for the `hmm_gru` assignment."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

from course_lib.hmm import sample, symmetric_hmm
from course_lib.reference import hmm_gru as ref
from gradeworker import standins

from ..expect import as_array, as_float, assert_close, expect_raises
from ..modeltests import LayerRule, LearnTask, ModelSpec, model_tests
from ..outcomes import CheckFailed, StudentError
from ..remote import Opaque, Recipe, RemoteModel
from ..rubric import graded, rubric, step

DNA, STATES = "ACGT", "HL"
CHECK_LEN = 50          # sequence length of the random inputs the model checks use


def _random_string(rng: np.random.Generator, alphabet: str, length: int) -> str:
    return "".join(rng.choice(list(alphabet), size=length))


def _shown(value) -> str:
    return value.type_name if isinstance(value, Opaque) else type(value).__name__


def _as_int_list(value, what: str) -> list:
    """Student output (tensor, array or list of integers) -> a list of Python ints."""
    if torch.is_tensor(value) and value.device.type == "meta":
        raise CheckFailed(f"{what} returned a tensor without values (meta device)")
    try:
        arr = value.detach().cpu().numpy() if torch.is_tensor(value) else np.asarray(value)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.dtype == object:
        raise CheckFailed(f"{what} returned {_shown(value)}, expected a sequence of integers")
    if arr.ndim != 1 or not (np.issubdtype(arr.dtype, np.integer) or arr.size == 0):
        raise CheckFailed(f"{what} returned shape {arr.shape} of {arr.dtype}, expected a 1-D sequence of integers")
    return arr.astype(np.int64).tolist()


def _function(student, name: str):
    student.defined(name)
    return student.function(name)


# ---------------------------------------------------------------- encode_seq
@graded("encode_seq")
class TestEncodeSeq:
    @pytest.fixture
    def encode(self, student):
        return _function(student, "encode_seq")

    @staticmethod
    def _matches(encode, seqtype: str, alphabet: str):
        rng = np.random.default_rng(len(alphabet))
        for length in (1, 7, 120):
            s = _random_string(rng, alphabet, length)
            got = _as_int_list(encode(s, seqtype, what=f"encode_seq(..., {seqtype!r})"), "encode_seq")
            if got != ref.encode_seq(s, seqtype).tolist():
                order = ", ".join(f"{a}={i}" for i, a in enumerate(alphabet))
                raise CheckFailed(f"encode_seq of a {seqtype} string gives the wrong indices (expected {order})")

    @rubric(1.5, "DNA letters map to A=0, C=1, G=2, T=3")
    def test_dna(self, encode):
        self._matches(encode, "dna", DNA)

    @rubric(1, "states map to H=0, L=1")
    def test_states(self, encode):
        self._matches(encode, "state", STATES)

    @rubric(0.5, "returns a 1-D torch.long tensor")
    def test_tensor(self, encode):
        out = encode("GATTACA", "dna", what="encode_seq('GATTACA', 'dna')")
        if not torch.is_tensor(out) or out.dtype != torch.long or out.dim() != 1:
            kind = f"tensor of {out.dtype} with shape {tuple(out.shape)}" if torch.is_tensor(out) else _shown(out)
            raise CheckFailed(f"expected a 1-D torch.long tensor (what nn.Embedding takes), got {kind}")

    @rubric(1, "invalid letters raise ValueError")
    def test_invalid(self, encode):
        for s, seqtype in (("ACGX", "dna"), ("ACGU", "dna"), ("HHLQ", "state"), ("ACGT", "state")):
            what = f"encode_seq({s!r}, {seqtype!r})"
            expect_raises("ValueError", lambda: encode(s, seqtype, what=what), what)

    @rubric(0.5, "an unknown seqtype raises ValueError")
    def test_bad_seqtype(self, encode):
        what = "encode_seq('ACGT', 'protein')"
        expect_raises("ValueError", lambda: encode("ACGT", "protein", what=what), what)


# ---------------------------------------------------------------- decode_seq
@graded("decode_seq")
class TestDecodeSeq:
    @pytest.fixture
    def decode(self, student):
        return _function(student, "decode_seq")

    @staticmethod
    def _inverse(decode, seqtype: str, alphabet: str):
        rng = np.random.default_rng(10 + len(alphabet))
        for length in (1, 9, 200):
            s = _random_string(rng, alphabet, length)
            if decode(ref.encode_seq(s, seqtype), seqtype, what=f"decode_seq(..., {seqtype!r})") != s:
                raise CheckFailed(f"decode_seq(encode_seq(s, {seqtype!r}), {seqtype!r}) does not give back s")

    @rubric(1.5, "inverts encode_seq for DNA")
    def test_dna(self, decode):
        self._inverse(decode, "dna", DNA)

    @rubric(1, "inverts encode_seq for states")
    def test_states(self, decode):
        self._inverse(decode, "state", STATES)

    @rubric(0.5, "accepts tensors, NumPy arrays and lists")
    def test_types(self, decode):
        s = "GATTACACCG"
        idx = ref.encode_seq(s, "dna")
        for label, value in {"a NumPy array": idx.numpy(), "a list": idx.tolist(),
                             "an int32 tensor": idx.int()}.items():
            got = decode(value, "dna", what=f"decode_seq of {label}")
            if got != s:
                raise CheckFailed(f"decode_seq of {label} gives {str(got)[:20]!r}, expected {s!r}")

    @rubric(0.5, "out-of-range indices raise ValueError")
    def test_invalid(self, decode):
        for idx, seqtype in (([0, 4, 1], "dna"), ([0, 1, 2], "state"), ([5], "dna")):
            what = f"decode_seq({idx}, {seqtype!r})"
            expect_raises("ValueError", lambda: decode(torch.tensor(idx), seqtype, what=what), what)

    @rubric(0.5, "empty input gives the empty string")
    def test_empty(self, decode):
        got = decode(torch.zeros(0, dtype=torch.long), "dna", what="decode_seq of an empty tensor")
        if got != "":
            raise CheckFailed(f"decode_seq of an empty tensor should give '', got {str(got)[:20]!r}")

    @rubric(0.5, "an unknown seqtype raises ValueError")
    def test_bad_seqtype(self, decode):
        what = "decode_seq(..., 'rna')"
        expect_raises("ValueError", lambda: decode(torch.tensor([0, 1]), "rna", what=what), what)


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


def _embedding_and_gru(desc, model):
    if not desc.find("Embedding"):
        return "no nn.Embedding layer found (embed the symbol indices first)"
    if not desc.find("GRU"):
        return "no nn.GRU layer found"
    return None


GRU_SPEC = ModelSpec(
    title="GRUTagger",
    make_inputs=_gru_inputs,
    output_shape=lambda b: (b, CHECK_LEN, 2),
    input_names=("x",),
    inputs=(0,),
    targets=(1,),
    build_args=(4, 16, 2),
    layers=(LayerRule("uses nn.Embedding and nn.GRU", 1, _embedding_and_gru),),
    param_range=(100, 200_000),
    learn=LearnTask(make_data=_hmm_tagging_data, loss=ref.tagging_loss, metric=_tag_accuracy, bar=0.88,
                    steps=150, batch_size=32, lr=1e-2, metric_name="positional accuracy", points=2,
                    budget_s=90),
    points={"independent": 0.5},
)


def _tagger(student, *args, **kwargs):
    """GRUTagger(*args, **kwargs) built in the worker (seed 0); CheckFailed saying why it could not be."""
    info = student.defined("GRUTagger")
    if not (info.get("class") and info.get("module_class")):
        raise CheckFailed("GRUTagger should be a class derived from nn.Module")
    try:
        model = student.cls("GRUTagger").build(*args, seed=0, **kwargs)
    except StudentError as exc:
        raise CheckFailed("not implemented yet" if exc.not_implemented else exc.describe()) from None
    if not isinstance(model, RemoteModel):
        raise CheckFailed("GRUTagger(...) did not give an nn.Module")
    return model


def _run(model, x):
    out = model.forward(x, mode="eval")    # these models stay on the CPU, where they were built
    if not torch.is_tensor(out) or out.device.type == "meta":
        raise CheckFailed(f"forward returned {_shown(out)}, expected a tensor")
    return out.cpu()


def _changed_tail_effect(model, length: int = 30) -> float:
    """Max change of the outputs at positions 0..length-2 when only the last input symbol changes."""
    x = torch.randint(0, 4, (4, length), generator=torch.Generator().manual_seed(3))
    x2 = x.clone()
    x2[:, -1] = (x2[:, -1] + 1) % 4
    a, b = _run(model, x), _run(model, x2)
    if a.shape != b.shape or a.dim() < 2:
        raise CheckFailed(f"output shape {tuple(a.shape)} for an input of shape (4, {length}), "
                          f"expected (4, {length}, 2)")
    return float((a[:, :-1] - b[:, :-1]).abs().max())


class TestGRUTagger(model_tests(GRU_SPEC)):
    @rubric(1, "log-softmax over the state axis")
    def test_log_softmax_states(self, student):
        model = _tagger(student, 4, 8, 3)
        out = _run(model, torch.randint(0, 4, (6, 20), generator=torch.Generator().manual_seed(1)))
        if tuple(out.shape) != (6, 20, 3):
            raise CheckFailed(f"with predict_size=3 the output shape is {tuple(out.shape)}, expected (6, 20, 3)")
        sums = out.double().exp().sum(-1)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-4):
            raise CheckFailed("exp(output) does not sum to 1 over the state axis (last axis): "
                              "apply log-softmax over the states")

    @rubric(1, "input_size, hidden_size, predict_size and n_layers are used")
    def test_constructor_args(self, student):
        model = _tagger(student, 5, 12, 3, n_layers=2)
        desc = model.describe()
        grus, embs = desc.find("GRU"), desc.find("Embedding")
        if not grus or not embs:
            raise CheckFailed("expected an nn.Embedding and an nn.GRU")
        rows = embs[0].attrs.get("num_embeddings")
        if not isinstance(rows, int) or rows < 5:
            raise CheckFailed(f"input_size=5 but nn.Embedding has {rows} rows")
        gru = grus[0].attrs
        if gru.get("hidden_size") != 12 or gru.get("num_layers") != 2:
            raise CheckFailed(f"hidden_size=12, n_layers=2 gave an nn.GRU with hidden_size={gru.get('hidden_size')}, "
                              f"num_layers={gru.get('num_layers')}")
        out = _run(model, torch.randint(0, 5, (3, 11), generator=torch.Generator().manual_seed(2)))
        if tuple(out.shape) != (3, 11, 3):
            raise CheckFailed(f"input_size=5, predict_size=3: output shape {tuple(out.shape)}, expected (3, 11, 3)")

    @rubric(1, "bidirectional=True reads the sequence both ways")
    def test_bidirectional(self, student):
        model = _tagger(student, 4, 8, 2, bidirectional=True)
        grus = model.describe().find("GRU")
        if not grus or grus[0].attrs.get("bidirectional") is not True:
            raise CheckFailed("bidirectional=True should create an nn.GRU with bidirectional=True")
        if _changed_tail_effect(model) < 1e-6:
            raise CheckFailed("with bidirectional=True, earlier outputs ignore later symbols")

    @rubric(1, "bidirectional=False reads left to right only")
    def test_causal(self, student):
        if _changed_tail_effect(_tagger(student, 4, 8, 2)) > 1e-6:
            raise CheckFailed("with bidirectional=False, the output at a position depends on later symbols "
                              "(it should read left to right only)")


# ---------------------------------------------------------------- predict
# The model handed to predict is gradeworker.standins.BaseLookupTagger: each base alone decides the
# state (A, T -> mostly L; C, G -> mostly H), and in training mode its table is flipped.
BASE_PROBS = np.asarray(standins.BASE_LOG_PROBS, dtype=np.float64)


def _expected(dna: str):
    probs = BASE_PROBS[ref.encode_seq(dna, "dna").numpy()]
    return ref.decode_seq(probs.argmax(-1), "state"), probs


def _expected_state_strings(student, dna: str) -> set:
    """The most likely states as the reference decodes them, and as the submission's own decode_seq does.

    predict is judged on its own job (evaluation mode, argmax, probabilities); decode_seq is graded on
    its own, so a wrong decode_seq costs its points once, however predict decodes."""
    states, probs = _expected(dna)
    accepted = {states}
    try:
        own = _function(student, "decode_seq")(torch.from_numpy(probs.argmax(-1)), "state",
                                                what="decode_seq(argmax of the probabilities, 'state')")
    except (CheckFailed, StudentError):
        return accepted
    return accepted | {own} if isinstance(own, str) else accepted


def _lookup_tagger(student, training: bool = False, device: str = "cpu"):
    model = student.standin("BaseLookupTagger").set_mode(training)
    return model.to(device) if device != "cpu" else model


def _predict_on(student, dna: str, model=None, what: str = "predict(model, dna)"):
    fn = _function(student, "predict")
    out = fn(model if model is not None else _lookup_tagger(student), dna, what=what)
    if not isinstance(out, tuple) or len(out) != 2:
        raise CheckFailed(f"expected a tuple (state string, probabilities), got {_shown(out)}")
    states, probs = out
    try:
        probs = as_array(probs, "predict")
    except CheckFailed:
        raise CheckFailed("the probabilities are not numeric (return an array or tensor)") from None
    return states, probs


@graded("predict")
class TestPredict:
    @rubric(0.5, "returns (state string, (L, n_states) probabilities)")
    def test_form(self, student):
        states, probs = _predict_on(student, "ACGTTGCA")
        if not isinstance(states, str) or len(states) != 8:
            raise CheckFailed(f"the first element should be a string of 8 states, got {str(states)[:20]!r}")
        if probs.shape != (8, 2):
            raise CheckFailed(f"probabilities have shape {probs.shape}, expected (length, n_states) = (8, 2)")

    @rubric(1.5, "the string holds the most likely state at each position")
    def test_states(self, student):
        rng = np.random.default_rng(20)
        for length in (1, 40, 300):
            dna = _random_string(rng, DNA, length)
            if _predict_on(student, dna)[0] not in _expected_state_strings(student, dna):
                raise CheckFailed("the state string is not the most likely state (decoded as H/L) at each position")

    @rubric(1, "probabilities are the model's (exp of its log-probabilities)")
    def test_probs(self, student):
        dna = _random_string(np.random.default_rng(21), DNA, 60)
        _, probs = _predict_on(student, dna)
        want = _expected(dna)[1]
        if probs.shape != want.shape:
            raise CheckFailed(f"probabilities have shape {probs.shape}, expected {want.shape}")
        if not np.allclose(probs, want, atol=1e-5):
            hint = " (they look like log-probabilities: exponentiate)" if (probs <= 0).all() else ""
            raise CheckFailed("the probabilities are not the model's per-position state probabilities" + hint)

    @rubric(0.5, "puts the model in evaluation mode")
    def test_eval(self, student):
        dna = "GATTACAGGC"
        states, _ = _predict_on(student, dna, model=_lookup_tagger(student, training=True))
        if states not in _expected_state_strings(student, dna):
            raise CheckFailed("a model left in training mode gives other states: call model.eval() first")

    @rubric(0.5, "invalid DNA letters raise ValueError")
    def test_invalid(self, student):
        fn = _function(student, "predict")
        model = _lookup_tagger(student)
        expect_raises("ValueError", lambda: fn(model, "ACGN", what="predict(model, 'ACGN')"), "predict(model, 'ACGN')")

    @rubric(0.5, "works with the model on the GPU", gpu=True)
    def test_gpu(self, student):
        dna = "ACGTACGTTTGC"
        states, _ = _predict_on(student, dna, model=_lookup_tagger(student, device="cuda"),
                                what="predict with the model on the GPU")
        if states != _expected(dna)[0]:
            raise CheckFailed("with the model on the GPU the predicted states are wrong")


# ---------------------------------------------------------------- fraction_matches
@graded("fraction_matches")
class TestFractionMatches:
    @pytest.fixture
    def fm(self, student):
        fn = _function(student, "fraction_matches")
        return lambda a, b, what: as_float(fn(a, b, what=f"fraction_matches {what}"), "fraction_matches")

    @rubric(2, "the fraction of positions that agree")
    def test_matches(self, fm):
        rng = np.random.default_rng(30)
        for length in (1, 13, 500):
            a, b = _random_string(rng, STATES, length), _random_string(rng, STATES, length)
            assert_close(fm(a, b, "on random state strings"), ref.fraction_matches(a, b),
                         f"two random state strings of length {length}")
        a = _random_string(rng, DNA, 50)
        assert_close(fm(a, a, "on identical strings"), 1.0, "identical strings")
        assert_close(fm("HHHH", "LLLL", "on opposite strings"), 0.0, "strings that never agree")

    @rubric(0.5, "accepts strings, lists and integer arrays")
    def test_types(self, fm):
        a, b = "HLLHHLHL", "HLHHLLHH"
        want = ref.fraction_matches(a, b)
        for label, args in {"lists of letters": (list(a), list(b)),
                            "a string and a list": (a, list(b)),
                            "integer arrays": (ref.encode_seq(a, "state").numpy(),
                                               ref.encode_seq(b, "state").numpy())}.items():
            assert_close(fm(*args, f"with {label}"), want, f"with {label}")

    @rubric(1, "different lengths raise ValueError")
    def test_lengths(self, student):
        fn = _function(student, "fraction_matches")
        what = "fraction_matches of lengths 4 and 3"
        expect_raises("ValueError", lambda: fn("HLLH", "HLL", what=what), what)

    @rubric(0.5, "empty sequences raise ValueError (undefined fraction)")
    def test_empty(self, student):
        fn = _function(student, "fraction_matches")
        what = "fraction_matches('', '')"
        expect_raises("ValueError", lambda: fn("", "", what=what), what)


# ---------------------------------------------------------------- sim_prob_match
N_DRAWS = 20_000
SIM_CASES = ((0.6, "HL", 20), (0.3, "ACGT", 40), (0.55, "HL", 100), (1.0, ["H", "L"], 3))
# (arguments, the two global seeds set before the two calls): a seeded function answers the same
# whatever the global RNGs hold; one drawing from them differs in at least one of these pairs.
SEEDED_CASES = (((0.55, "HL", 50, 3000), (101, 202)), ((0.3, "ACGT", 20, 2000), (303, 404)),
                ((0.6, "HL", 30, 2500), (505, 606)))


def binomial_tail(fraction: float, n_symbols: int, length: int) -> float:
    """P(Binomial(length, 1/n_symbols) >= fraction * length): the exact chance of matching that well."""
    need = int(np.ceil(fraction * length - 1e-9))
    return float(stats.binom.sf(need - 1, length, 1.0 / n_symbols))


@graded("sim_prob_match")
class TestSimProbMatch:
    @pytest.fixture
    def sim(self, student):
        fn = _function(student, "sim_prob_match")
        return lambda *args, seed=0: as_float(fn(*args, what="sim_prob_match(...)", seed=seed), "sim_prob_match")

    @rubric(0.5, "returns a probability")
    def test_probability(self, sim):
        p = sim(0.6, "HL", 20, 1000)
        if not 0.0 <= p <= 1.0:
            raise CheckFailed(f"returned {p:.4g}, which is not a probability")

    @rubric(2, "agrees with the binomial tail P(matches >= fraction * length)", budget_s=60)
    def test_binomial(self, sim):
        for fraction, symbols, length in SIM_CASES:
            got = sim(fraction, symbols, length, N_DRAWS)
            want = binomial_tail(fraction, len(set(symbols)), length)
            tol = 4.5 * np.sqrt(want * (1 - want) / N_DRAWS) + 2e-3
            if not abs(got - want) <= tol:
                raise CheckFailed(f"fraction={fraction}, {len(set(symbols))} symbols, length={length}: got "
                                  f"{got:.4f}; the exact chance of matching at least that well is {want:.4f}")

    @rubric(0.5, "edge cases: fraction 0 gives 1, fraction above 1 gives 0")
    def test_edges(self, sim):
        assert_close(sim(0.0, "HL", 30, 2000), 1.0, "fraction=0 (every pair matches at least that well)")
        assert_close(sim(1.01, "ACGT", 5, 2000), 0.0, "fraction above 1")

    @rubric(1, "the same arguments give the same answer (seeded)")
    def test_deterministic(self, sim):
        for args, (seed_a, seed_b) in SEEDED_CASES:
            first, second = sim(*args, seed=seed_a), sim(*args, seed=seed_b)
            if first != second:
                raise CheckFailed(f"two calls with the same arguments gave {first} and {second}: use a seeded "
                                  "generator")


# ---------------------------------------------------------------- train_tagger
TRAIN_ROWS, VALID_ROWS, TRAIN_EPOCHS, TRAIN_BATCH = 192, 64, 3, 32
TAGGER = {"name": "EmbeddingTagger", "seed": 0}      # the stand-in handed to train_tagger


def _base_rule_sets():
    """(bases, states) of the training and validation sets: state H for C/G bases, L for A/T.

    The validation set holds other (and fewer) sequences.
    """
    rng = np.random.default_rng(40)
    bases = rng.integers(0, 4, (TRAIN_ROWS + VALID_ROWS, 20)).astype(np.int8)
    states = np.isin(bases, [0, 3]).astype(np.int8)          # A/T -> L (1), C/G -> H (0)
    return (bases[:TRAIN_ROWS], states[:TRAIN_ROWS]), (bases[TRAIN_ROWS:], states[TRAIN_ROWS:])


@graded("train_tagger")
class TestTrainTagger:
    @step(budget_s=120)
    def trained(self, student):
        """Train the stand-in with the student's train_tagger; keep its weights and the batch shapes it saw."""
        fn = _function(student, "train_tagger")
        train, valid = _base_rule_sets()
        model = student.standin(TAGGER["name"], seed=TAGGER["seed"])
        fn(model, Recipe("hmm_dataset", {"bases": train[0], "states": train[1], "name": "train"}),
           Recipe("hmm_dataset", {"bases": valid[0], "states": valid[1], "name": "valid"}),
           TRAIN_EPOCHS, TRAIN_BATCH, 1e-2,
           what=f"train_tagger(model, train_set, valid_set, {TRAIN_EPOCHS}, {TRAIN_BATCH}, 0.01)")
        shapes = model.attr("train_batches")
        if not isinstance(shapes, list) or not all(isinstance(s, tuple) and all(isinstance(n, int) for n in s)
                                                   for s in shapes):
            raise CheckFailed("the model's record of its training batches was changed")
        return {"state": {k: v.detach().cpu() for k, v in model.state().items()}, "shapes": shapes}

    @rubric(0.5, "trains (no error)", budget_s=120)
    def test_trains(self, trained):
        trained.value

    @rubric(1, "mini-batches of whole sequences")
    def test_batched(self, trained):
        shapes = trained.needed["shapes"]
        if not shapes:
            raise CheckFailed("the model was never called in training mode with gradients on")
        if max(s[0] if s else 0 for s in shapes) < 2:
            raise CheckFailed("the model saw one sequence at a time: train on mini-batches of sequences")
        if any(len(s) != 2 or s[1] != 20 for s in shapes):
            raise CheckFailed("expected batches of whole sequences, shape (batch_size, length)")

    @rubric(1.5, "learns the training labels (NLL over every position)")
    def test_learns(self, trained):
        state = trained.needed["state"]
        model = standins.build(TAGGER["name"], seed=TAGGER["seed"])
        try:
            model.load_state_dict(state)
        except (RuntimeError, KeyError):
            raise CheckFailed("the trained model's weights no longer fit the model it was given") from None
        bases, states = _base_rule_sets()[0]
        model.eval()
        with torch.no_grad():
            acc = _tag_accuracy(model(torch.from_numpy(bases.astype(np.int64))),
                                torch.from_numpy(states.astype(np.int64)))
        if acc < 0.9:
            raise CheckFailed(f"after training, the model tags {acc:.0%} of the training positions right on data "
                              f"where each base decides its state; expected at least 90 %")

    @rubric(1, "trains on the training set only, once per epoch")
    def test_only_train_set(self, trained):
        rows = sum(s[0] for s in trained.needed["shapes"] if s)
        want = TRAIN_EPOCHS * TRAIN_ROWS
        if not 0.9 * want <= rows <= 1.1 * want:
            raise CheckFailed(f"{TRAIN_EPOCHS} epochs over {TRAIN_ROWS} training sequences should train on about "
                              f"{want} sequences, but {rows} went through the model in training mode: train on "
                              f"the training set only (never on the validation or test set)")
