"""Friendly messages for students' common mistakes, and validate()."""
import pytest
import torch
from torch import nn

from course_lib.selfcheck import expect_eval_mode, expect_shape, explain, validate
from leak_scan import REPO


def test_wrong_conv_layout_is_explained():
    with pytest.raises(RuntimeError) as info:
        nn.Conv1d(4, 8, 3)(torch.zeros(2, 101, 4))
    assert "swap the last two axes" in explain(info.value)


def test_linear_size_mismatch_is_explained():
    with pytest.raises(RuntimeError) as info:
        nn.Linear(10, 1)(torch.zeros(3, 12))
    assert "received 12 features per sample but expects 10" in explain(info.value)


def test_target_shape_and_grad_mistakes_are_explained():
    with pytest.raises(ValueError) as info:
        nn.functional.binary_cross_entropy_with_logits(torch.zeros(3, 1), torch.zeros(3))
    assert "reshape one to match" in explain(info.value)
    with pytest.raises(RuntimeError) as info:
        torch.zeros(2, requires_grad=True).numpy()
    assert ".detach()" in explain(info.value)


def test_expect_shape_and_eval_mode():
    expect_shape(torch.zeros(3, 1), (3, 1))
    with pytest.raises(AssertionError, match=r"shape \(3, 4\); expected \(3, 1\)"):
        expect_shape(torch.zeros(3, 4), (3, 1), "output")
    model = nn.Dropout()
    with pytest.raises(AssertionError, match="model.eval"):
        expect_eval_mode(model)
    expect_eval_mode(model.eval())


def test_validate_reports_each_answer(capsys):
    class Done(nn.Module):
        pass

    class Todo(nn.Module):
        def __init__(self):
            raise NotImplementedError()

    def todo_fn(x):
        raise NotImplementedError()

    assert validate(["Done"], {"Done": Done})
    assert not validate(["Done", "Todo", "todo_fn", "missing"],
                        {"Done": Done, "Todo": Todo, "todo_fn": todo_fn})
    out = capsys.readouterr().out
    assert "✗ Todo: not implemented yet" in out and "✗ missing: not defined" in out
    assert "✗ todo_fn: not implemented yet" in out


def test_validate_judges_classes_that_need_arguments_by_their_source(capsys):
    class Data(torch.utils.data.Dataset):  # like a Dataset that takes its file paths
        def __init__(self, paths, augment=False):
            self.paths = paths

    class DataTodo(torch.utils.data.Dataset):
        def __init__(self, paths):
            self.paths = paths

        def __getitem__(self, i):
            raise NotImplementedError

    assert validate(["Data"], {"Data": Data})
    assert not validate(["DataTodo"], {"DataTodo": DataTodo})
    assert "✗ DataTodo: not implemented yet" in capsys.readouterr().out


@pytest.mark.parametrize("notebook", sorted((REPO / "source").glob("*/*.ipynb")), ids=lambda p: p.stem)
def test_reference_answers_are_ready_to_submit(notebook, capsys):
    """The last cell's validate([...]) passes when every answer is the reference one."""
    import ast
    import importlib

    import nbformat

    cell = [c for c in nbformat.read(notebook, as_version=4).cells if c.cell_type == "code"][-1]
    call = next(n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Call)
                and getattr(n.func, "attr", getattr(n.func, "id", "")) == "validate")
    names = ast.literal_eval(call.args[0])
    reference = importlib.import_module(f"course_lib.reference.{notebook.parent.name}")
    assert validate(names, {n: getattr(reference, n) for n in names}), capsys.readouterr().out


def test_fit_reports_common_mistakes_with_a_hint():
    from torch.utils.data import TensorDataset

    from course_lib.training import fit, make_loader

    class ChannelsLast(nn.Module):  # forgets to transpose (B, L, 4) for Conv1d
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(4, 1, 3)

        def forward(self, x):
            return self.conv(x).amax(-1)

    data = TensorDataset(torch.zeros(8, 20, 4), torch.zeros(8, 1))
    loader = make_loader(data, 4)
    with pytest.raises(RuntimeError, match="Hint: a convolution expects 4 channels"):
        fit(ChannelsLast(), loader, loader, loss_fn=nn.functional.mse_loss, epochs=1, progress=False)
