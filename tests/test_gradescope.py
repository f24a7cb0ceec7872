"""The Gradescope zip: its run_autograder grades a submission into results.json."""
import json
import os
import subprocess
import sys
import zipfile

import nbformat
import pytest

from autograder import pipeline
from autograder.grade_cells import item_points
from autograder.gradescope import build_zip
from leak_scan import REPO


def test_zip_contents(tmp_path):
    z = build_zip("jund", tmp_path / "gs.zip")
    with zipfile.ZipFile(z) as zf:
        names = zf.namelist()
        assert {"setup.sh", "run_autograder", "source/jund/jund.ipynb"} <= set(names)
        wheel = [n for n in names if n.startswith("wheels/") and n.endswith(".whl")]
        assert len(wheel) == 1
        assert zf.getinfo("run_autograder").external_attr >> 16 & 0o111
        inner = zipfile.ZipFile(zf.open(wheel[0]))
        packaged = set(inner.namelist())
        assert {"gradeworker/session.py", "autograder/checks/jund.py", "autograder/checks/pytest.ini"} <= packaged
        assert "bubblewrap" in zf.read("setup.sh").decode()


@pytest.mark.slow
def test_run_autograder_writes_results_json(tmp_path):
    root = tmp_path / "autograder"
    with zipfile.ZipFile(build_zip("jund", tmp_path / "gs.zip")) as zf:
        zf.extractall(root / "source")
    src = nbformat.read(REPO / "source/jund/jund.ipynb", as_version=4)
    rel = nbformat.read(REPO / "release/jund/jund.ipynb", as_version=4)
    (root / "submission").mkdir()
    nbformat.write(pipeline.fill_solutions(rel, src, {}), root / "submission" / "Copy of jund.ipynb")
    env = dict(os.environ, AUTOGRADER_ROOT=str(root), AUTOGRADER_PYTHON=sys.executable,
               PYTHONPATH=str(REPO), COURSE_DATA_DIR=os.environ["COURSE_DATA_DIR"])
    script = root / "source" / "run_autograder"
    subprocess.run(["bash", str(script)], env=env, check=True, capture_output=True, timeout=900)
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == sum(item_points("jund").values())
    assert [t["name"] for t in results["tests"]] == ["weighted_accuracy", "weighted_bce_loss", "choose_config", "MLP", "CNN",
                                                      "LSTMClassifier", "written_jund_choice (written answer)",
                                                      "written_jund_weights (written answer)"]
    assert [t["max_score"] for t in results["tests"][6:]] == [0, 0] and "graded by hand" in results["output"]
    assert "Copy of jund.ipynb graded as jund.ipynb" in results["extra_data"]["notes"]
