"""Each release notebook runs with only the student build of course_lib up to its first NotImplementedError."""
import os
import zipfile

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.student_build import build_student_wheel
from leak_scan import REPO

RELEASES = sorted((REPO / "release").glob("*/*.ipynb"))
BLOCK = "raise ImportError('{name} is not part of what students receive')\n"


@pytest.fixture(scope="module")
def student_site(tmp_path_factory):
    """PYTHONPATH with the unpacked student wheel, where `autograder` cannot be imported."""
    root = tmp_path_factory.mktemp("student")
    with zipfile.ZipFile(build_student_wheel(root / "dist")) as zf:
        zf.extractall(root / "site")
    (root / "block" / "autograder").mkdir(parents=True)
    (root / "block" / "autograder" / "__init__.py").write_text(BLOCK.format(name="autograder"))
    return f"{root / 'block'}{os.pathsep}{root / 'site'}", root / "site"


@pytest.mark.slow
@pytest.mark.parametrize("path", RELEASES, ids=[f"{p.parent.name}/{p.stem}" for p in RELEASES])
def test_release_runs_to_first_exercise_with_student_build(path, student_site, tmp_path):
    pythonpath, site = student_site
    nb = nbformat.read(path, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import course_lib; print(course_lib.__file__)"))
    env = dict(os.environ, PYTHONPATH=pythonpath, COURSE_FAST="1", MPLBACKEND="Agg")
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}})
    first_error = None
    with client.setup_kernel(env=env):
        for i, cell in enumerate(nb.cells[:-1]):
            if cell.cell_type != "code":
                continue
            try:
                client.execute_cell(cell, i)
            except CellExecutionError as exc:
                first_error = (i, exc.ename, exc.evalue)
                break
        client.execute_cell(nb.cells[-1], len(nb.cells) - 1)
    assert first_error is not None and first_error[1] == "NotImplementedError", \
        f"{path.name}: first error should be an unanswered exercise, got {first_error}"
    where = nb.cells[-1].outputs[0]["text"].strip()
    assert where.startswith(str(site)), f"course_lib was imported from {where}, not from the student build"
    answers = [i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("solution")]
    assert first_error[0] == answers[0], "the notebook should run cleanly up to its first answer cell"
