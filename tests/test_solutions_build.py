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
