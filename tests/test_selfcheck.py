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


def test_validate_tells_not_run_from_not_implemented_from_failed(capsys):
    """In a real IPython shell: a cell never run, run and still raising NotImplementedError, run and failing."""
    from IPython.core.interactiveshell import InteractiveShell

    from course_lib.selfcheck import watch_cells

    shell = InteractiveShell()
    try:
        assert watch_cells(shell) and watch_cells(shell)  # twice: still one recorder
        for cell in ["# def skeleton(x):\n#     ...\n# YOUR CODE HERE\nraise NotImplementedError()",
                     "import math\n\ndef broken(x):\n    return x\n\nbroken_too = math.sqrt(-1)",
                     "def done(x):\n    return x"]:
            shell.run_cell(cell)
        capsys.readouterr()
        shell.run_cell("from course_lib.selfcheck import validate\n"
                       "ok = validate(['never_run', 'skeleton', 'broken_too', 'done'])")
    finally:
        InteractiveShell.clear_instance()
    out = capsys.readouterr().out
    assert shell.user_ns["ok"] is False, out
    assert "✗ never_run: not defined: run the cell that defines it" in out
    assert "✗ skeleton: not implemented yet: its cell ran but still raises NotImplementedError" in out
    assert "✗ broken_too: not defined: its cell ran but stopped with ValueError: math domain error" in out
    assert "✓ done" in out


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded outcomes", "input history only"])
def test_validate_messages_for_missing_answers(recorded, capsys):
    from course_lib import selfcheck

    cells = [("# def skeleton(x):\n#     ...\n# YOUR CODE HERE\nraise NotImplementedError()", NotImplementedError()),
             ("import math\nbroken = math.sqrt(-1)\n", ValueError("math domain error"))]
    ns = {"In": ["", *[src for src, _ in cells]]}
    if recorded:
        selfcheck._RUNS[id(ns)] = list(cells)
    try:
        assert not validate(["never_run", "skeleton", "broken"], ns)
    finally:
        selfcheck._RUNS.pop(id(ns), None)
    out = capsys.readouterr().out
    assert "✗ never_run: not defined: run the cell that defines it" in out
    assert "✗ skeleton: not implemented yet: its cell ran but still raises NotImplementedError" in out
    assert "✗ broken: not defined: its cell ran but stopped with" in out
    assert "not defined: run the cell" not in out.split("✗ skeleton")[1]
    if recorded:
        assert "ValueError: math domain error" in out
