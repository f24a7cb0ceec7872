"""The solutions build: reference code written out (no import of it), hidden tests gone, executed."""
import nbformat
import pytest

from autograder import pipeline
from autograder.solutions import ModuleIndex, build_solutions, solution_notebook
from leak_scan import REPO


@pytest.mark.parametrize("assignment", pipeline.assignments())
def test_answer_cells_have_code_not_imports(assignment):
    for src in pipeline.source_notebooks(REPO, assignment):
        nb = solution_notebook(src, REPO / "course_lib" / "reference")
        for cell in nb.cells:
            meta = cell.metadata.get("nbgrader", {})
            assert "course_lib.reference" not in cell.source, f"{src.name}: {meta.get('grade_id')}"
            assert "BEGIN HIDDEN TESTS" not in cell.source and "autograder" not in cell.source
            assert "BEGIN SOLUTION" not in cell.source and "END SOLUTION" not in cell.source
            if meta.get("solution") and cell.cell_type == "code":
                assert ("def " in cell.source or "class " in cell.source), meta.get("grade_id")


@pytest.mark.slow
@pytest.mark.parametrize("assignment", pipeline.assignments())
def test_solutions_execute_with_outputs(assignment, tmp_path):
    paths = build_solutions(assignment, tmp_path, fast=True)
    assert paths, f"no notebooks built for {assignment}"
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.get("output_type") == "error"]
        assert not errors, f"{path.name}: {errors}"
        assert any("image/png" in o.get("data", {}) for o in outputs), f"{path.name}: figures should be rendered"


def test_relative_imports_become_absolute():
    index = ModuleIndex(REPO / "course_lib" / "reference" / "hmm_gru.py")
    segs, imports = index.closure(["train_tagger"])
    assert "from course_lib.training import fit, make_loader" in imports
    assert not [line for line in imports if line.startswith("from .")]


@pytest.mark.parametrize("assignment", pipeline.assignments())
def test_no_answer_is_defined_twice(assignment):
    """A reference helper inlined into a later cell must not replace an earlier answer: the runner grades
    the notebook's final namespace, so a mutant's one_hot_encode redefined by the DNADataset cell's copy
    earned full marks there (while nbgrader, checking right after the cell, saw the mutant)."""
    import ast
    from collections import Counter

    mutants = pipeline.load_mutants(assignment)
    for path in pipeline.source_notebooks(REPO, assignment):
        release = solution_notebook(path, REPO / "course_lib" / "reference")
        for name, replacements in [("reference", {}), *mutants.items()]:
            nb = pipeline.fill_solutions(release, nbformat.read(path, as_version=4), replacements)
            counts = Counter(name for c in nb.cells if c.cell_type == "code"   # cells defining each name
                             for name in {node.name for node in ast.parse(_python_only(c.source)).body
                                          if isinstance(node, (ast.FunctionDef, ast.ClassDef))})
            twice = sorted(n for n, k in counts.items() if k > 1)
            assert not twice, f"{path.name}, {name}: defined in more than one cell: {twice}"


def _python_only(source: str) -> str:
    """Cell source without IPython magics and shell lines (which ast cannot parse)."""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
