"""The fast meta rule for recurrent layers gives exactly what PyTorch's own meta path gives, or steps aside."""
import contextlib
import itertools

import pytest
import torch
from torch import nn

from gradeworker.meta_rnn import fast_meta_rnns, meta_rnn_outputs


def _shapes(out):
    if torch.is_tensor(out):
        return ("T", tuple(out.shape), out.dtype, out.device.type, out.requires_grad)
    return tuple(_shapes(o) for o in out)


def _run(module, x, hx=None, fast=False):
    with fast_meta_rnns() if fast else contextlib.nullcontext():
        return module(x) if hx is None else module(x, hx)


CONFIGS = list(itertools.product((nn.LSTM, nn.GRU, nn.RNN), (1, 2), (False, True), (False, True), (True, False)))


@pytest.mark.parametrize("cls,layers,bidirectional,batch_first,bias", CONFIGS)
def test_same_outputs_as_pytorch_on_meta(cls, layers, bidirectional, batch_first, bias):
    module = cls(4, 6, num_layers=layers, bidirectional=bidirectional, batch_first=batch_first, bias=bias)
    module = module.to("meta")
    for shape in ((3, 7, 4), (7, 4)):          # batched and unbatched
        x = torch.empty(shape, device="meta")
        assert _shapes(_run(module, x, fast=True)) == _shapes(_run(module, x))
        with torch.no_grad():
            assert _shapes(_run(module, x, fast=True)) == _shapes(_run(module, x))


def test_projected_lstm_and_given_states():
    module = nn.LSTM(4, 6, proj_size=3, num_layers=2, batch_first=True).to("meta")
    x = torch.empty(5, 9, 4, device="meta")
    hx = (torch.empty(2, 5, 3, device="meta"), torch.empty(2, 5, 6, device="meta"))
    assert _shapes(_run(module, x, hx, fast=True)) == _shapes(_run(module, x, hx))


def test_the_rule_is_actually_used():
    module = nn.LSTM(4, 6, batch_first=True).to("meta")
    args = (torch.empty(2, 3, 4, device="meta"), [torch.empty(1, 2, 6, device="meta")] * 2,
            list(module._flat_weights), True, 1, 0.0, False, False, True)
    assert meta_rnn_outputs("lstm", args) is not None


@pytest.mark.parametrize("case", ["cpu_input", "cpu_state", "wrong_features", "wrong_batch_state", "double"])
def test_anything_the_real_op_rejects_is_left_to_it(case):
    """A hard-coded device, a wrong size or dtype: the fast rule steps aside and PyTorch raises as it would."""
    module = nn.LSTM(4, 6, batch_first=True).to("meta")
    x = torch.empty(2, 3, 4, device="meta")
    state = [torch.empty(1, 2, 6, device="meta")] * 2
    if case == "cpu_input":
        x = torch.empty(2, 3, 4)
    elif case == "cpu_state":
        state = [torch.zeros(1, 2, 6)] * 2
    elif case == "wrong_features":
        x = torch.empty(2, 3, 5, device="meta")
    elif case == "wrong_batch_state":
        state = [torch.empty(1, 3, 6, device="meta")] * 2
    elif case == "double":
        x = torch.empty(2, 3, 4, device="meta", dtype=torch.float64)
    args = (x, state, list(module._flat_weights), True, 1, 0.0, False, False, True)
    assert meta_rnn_outputs("lstm", args) is None
    with pytest.raises(Exception), fast_meta_rnns():
        module(x, tuple(state))


def test_off_meta_nothing_changes():
    torch.manual_seed(0)
    module = nn.GRU(4, 6, batch_first=True)
    x = torch.randn(2, 3, 4)
    with fast_meta_rnns():
        fast = module(x)[0]
    assert torch.equal(fast, module(x)[0])
