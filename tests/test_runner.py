"""The trusted runner: same scores as nbgrader, parallel = serial, outputs and gradebook, bad input reported.

Hostile submissions are graded by tests/test_attacks.py."""
import json
import tempfile
import zipfile
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest

from autograder import pipeline, runner
from autograder.grade_cells import item_points
from autograder.intake import canonical_name, collect, match_notebook
from test_grading_jund import EXPECTED_LOSS

MAX = item_points("jund")          # the checks' rubric markers: the one place points are written
JUND_TOTAL = sum(MAX.values())


@lru_cache(maxsize=None)
def course():
    root = pipeline.course_copy(Path(tempfile.mkdtemp(prefix="runner-")) / "course", assignment_ids=["jund"])
    pipeline.generate_release(root, "jund")
    return root


def _write(student: str, nb) -> Path:
    path = course() / "submitted" / student / "jund" / "jund.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def _filled(replacements):
    src = nbformat.read(course() / "source" / "jund" / "jund.ipynb", as_version=4)
    rel = nbformat.read(course() / "release" / "jund" / "jund.ipynb", as_version=4)
    return pipeline.fill_solutions(rel, src, replacements)


def _scores(result):
    return {c["name"]: c["score"] for c in result.cells}


@pytest.fixture(scope="module")
def graded():
    """Reference and two mutants, graded with 2 workers."""
    subs = {"reference": _filled({})}
    for name in ("unweighted_accuracy", "accessibility_ignored"):
        subs[f"mutant-{name}"] = _filled(pipeline.load_mutants("jund")[name])
    files = {s: {"jund.ipynb": _write(s, nb)} for s, nb in subs.items()}
    return {r.student: r for r in runner.grade_batch(files, "jund", workers=2, course_root=course())}


@pytest.mark.slow
def test_runner_agrees_with_expected_mutant_scores(graded):
    assert _scores(graded["reference"]) == MAX
    for name in ("unweighted_accuracy", "accessibility_ignored"):
        want = {k: v - EXPECTED_LOSS[name].get(f"test_{k}", 0) for k, v in MAX.items()}
        assert _scores(graded[f"mutant-{name}"]) == want


@pytest.mark.slow
def test_parallel_equals_serial_and_is_deterministic(graded):
    student = "mutant-accessibility_ignored"
    files = {student: {"jund.ipynb": course() / "submitted" / student / "jund" / "jund.ipynb"}}
    again = runner.grade_batch(files, "jund", workers=1, course_root=course())[0]
    assert [(c["grade_id"], c["score"], c["output"]) for c in again.cells] == \
           [(c["grade_id"], c["score"], c["output"]) for c in graded[student].cells]


@pytest.mark.slow
def test_outputs_results_json_grades_csv_and_feedback(graded, tmp_path):
    csv_path = runner.write_outputs(list(graded.values()), tmp_path)
    rows = csv_path.read_text().splitlines()
    assert rows[0].startswith("student,assignment,status,reason,test_weighted_accuracy")
    assert len(rows) == len(graded) + 1
    res = json.loads((tmp_path / "reference" / "results.json").read_text())
    n = len(MAX)
    assert res["score"] == JUND_TOTAL and len(res["tests"]) == n + 2    # two written answers, 0/0, graded by hand
    assert [t["score"] for t in res["tests"][n:]] == [0, 0] and "graded by hand" in res["tests"][n]["output"]
    assert {"name", "score", "max_score", "output"} <= set(res["tests"][0])
    page = (tmp_path / "mutant-unweighted_accuracy" / "feedback.html").read_text()
    assert "weighted_accuracy: 0.5 / 5" in page and "BEGIN HIDDEN" not in page and "autograder" not in page


@pytest.mark.parametrize("content, reason", [
    (b"", "is empty"),
    (b"{not json", "not valid JSON"),
    (b'{"metadata": {}}', "not a Jupyter notebook"),
])
def test_bad_files_are_reported_not_crashed(tmp_path, content, reason):
    path = tmp_path / "jund.ipynb"
    path.write_bytes(content)
    res = runner.grade_submission("s1", {"jund.ipynb": path}, "jund", course_root=pipeline.REPO_ROOT)
    assert res.status == "invalid" and reason in res.reason
    assert res.total == 0 and res.max_total == JUND_TOTAL


def test_notebook_from_another_assignment_is_reported(tmp_path):
    other = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    other.cells[0].metadata["nbgrader"] = {"solution": True, "grade": False, "grade_id": "encode_seq",
                                           "locked": False, "schema_version": 3}
    path = tmp_path / "jund.ipynb"
    nbformat.write(other, path)
    res = runner.grade_submission("s1", {"jund.ipynb": path}, "jund", course_root=pipeline.REPO_ROOT)
    assert res.status == "invalid" and "not from assignment 'jund'" in res.reason


def test_missing_notebook_is_reported():
    res = runner.grade_submission("s1", {}, "jund", course_root=pipeline.REPO_ROOT)
    assert res.status == "invalid" and "jund.ipynb was not submitted" in res.reason


def test_colab_renames_are_matched():
    for name in ["Copy of jund.ipynb", "jund (1).ipynb", "jund.ipynb.ipynb", "Copy of jund (2).ipynb"]:
        assert canonical_name(name) == "jund.ipynb"
        assert match_notebook(name, ["jund.ipynb"]) == "jund.ipynb"
    assert match_notebook("123_456_dna_binding (1).ipynb", ["dna_binding.ipynb", "nuclei_unet.ipynb"]) \
        == "dna_binding.ipynb"
    assert match_notebook("hmm_gru.ipynb", ["jund.ipynb"]) is None


def test_collect_from_lms_zip(tmp_path):
    download = tmp_path / "download.zip"
    with zipfile.ZipFile(download, "w") as zf:
        zf.writestr("alice_1001_2001_jund.ipynb", "{}")
        zf.writestr("bob_1002_2002_Copy of jund (1).ipynb", "{}")
        zf.writestr("carol_1003_2003_hmm_gru.ipynb", "{}")
        zf.writestr("readme.txt", "hello")
    log = collect(download, "jund", ["jund.ipynb"], tmp_path / "course")
    by = {e.student: e for e in log}
    assert (tmp_path / "course/submitted/alice/jund/jund.ipynb").exists()
    assert (tmp_path / "course/submitted/bob/jund/jund.ipynb").exists()
    assert "renamed from 'Copy of jund (1).ipynb'" in by["bob"].note
    assert by["carol"].notebook is None and "not one of this assignment's notebooks" in by["carol"].note
    assert not (tmp_path / "course/submitted/carol").exists()


@pytest.mark.slow
def test_endless_loop_and_memory_hog_cost_only_their_own_points(tmp_path):
    loop = "def weighted_accuracy(predicted_y, true_y, weight):\n    return 0.0\nwhile True:\n    pass"
    hog = "import numpy as np\n_big = np.ones(20_000_000_000)\nclass MLP: pass"
    path = _write("resources", _filled({"weighted_accuracy": loop, "MLP": hog}))
    res = runner.grade_submission("resources", {"jund.ipynb": path}, "jund", course_root=course(), cell_budget_s=5)
    scores = _scores(res)
    # the constant 0.0 answer was defined before the loop: it earns only the GPU property skipped here
    assert scores["weighted_accuracy"] == (0.5 if not runner._has_cuda() else 0) and scores["MLP"] == 0
    assert scores["weighted_bce_loss"] == 5 and scores["CNN"] == 10 and scores["LSTMClassifier"] == 10
    notes = " ".join(res.notes)
    assert "cell weighted_accuracy: cell took longer than 5 s" in notes
    assert "cell MLP: MemoryError" in notes


@pytest.mark.slow
def test_scores_and_reports_reach_nbgraders_gradebook_and_feedback(graded):
    from nbgrader.api import Gradebook

    from autograder.gradebook import gradebook_url, record

    students = ["reference", "mutant-accessibility_ignored"]
    files = {s: {"jund.ipynb": course() / "submitted" / s / "jund" / "jund.ipynb"} for s in students}
    assert record(course(), "jund", [graded[s] for s in students], files) == 2
    with Gradebook(gradebook_url(course())) as gb:
        for s in students:
            sub = gb.find_submission("jund", s)
            got = {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades if not g.name.startswith("written_")}
            assert got == {c["grade_id"]: c["score"] for c in graded[s].cells}
            written = [g for nb in sub.notebooks for g in nb.grades if g.name.startswith("written_")]
            assert len(written) == 2 and all(g.needs_manual_grade and g.auto_score is None for g in written)
    autograded = course() / "autograded" / "mutant-accessibility_ignored" / "jund" / "jund.ipynb"
    outputs = [o.get("text", "") for c in nbformat.read(autograded, as_version=4).cells for o in c.get("outputs", [])]
    assert any("✗ uses the input `a` [0/1]" in text for text in outputs)
    pipeline.run_nbgrader(["generate_feedback", "jund", "--force"], course())
    page = (course() / "feedback" / "mutant-accessibility_ignored" / "jund" / "jund.html").read_text()
    assert "uses the input" in page and "BEGIN HIDDEN" not in page and "grade(&quot;jund&quot;" not in page
    pipeline.run_nbgrader(["export", "--to", str(course() / "export.csv")], course())
    rows = (course() / "export.csv").read_text().splitlines()
    ref_row = next(r for r in rows if r.startswith("jund,") and ",reference," in r)
    assert f",{JUND_TOTAL:.1f}," in ref_row, rows[:3]
