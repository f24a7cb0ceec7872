"""Written answers: nbgrader manually graded cells, never scored by the runner or the checks, never leaked.

Decision (documented in README): results.json lists each written answer as a 0/0 test whose output says
"graded by hand"; grades.csv has an empty `manual:<grade_id>` column per answer and a `manual_max`
column; `total`/`max_total` are the autograded points only.
"""
import csv
import json
import tempfile
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest

from autograder import pipeline, runner
from autograder.grade_cells import item_points
from autograder.notebooks import cells_to_run, graded_cells, manual_cells
from leak_scan import REPO, leaks_in_text, model_answer_lines, model_answers, notebook_text

# the questions ../shared/ASSIGNMENTS.md asks students to answer in writing, by notebook
WRITTEN = {
    "jund/jund.ipynb": {"written_jund_choice", "written_jund_weights"},
    "rnacompete/rnacompete.ipynb": {"written_rnacompete_search", "written_rnacompete_checkpoint"},
    "dna_unet/dna_binding.ipynb": {"written_minibatches"},
    "dna_unet/nuclei_unet.ipynb": {"written_equivariance", "written_augmentation"},
    "ctcf_saliency/ctcf_saliency.ipynb": {"written_saliency_compare"},
    "hmm_gru/hmm_gru.ipynb": {"written_significance", "written_confident_wrong"},
}
STUDENT_TEXT = "My own answer: I chose hidden size 64 and 6 epochs, the best validation weighted accuracy."


def _source(rel):
    return nbformat.read(REPO / "source" / rel, as_version=4)


def test_every_notebook_is_listed():
    assert set(WRITTEN) == {p.relative_to(REPO / "source").as_posix() for p in (REPO / "source").glob("*/*.ipynb")}


@pytest.mark.parametrize("rel", sorted(WRITTEN))
def test_written_questions_are_manually_graded_cells(rel):
    nb = _source(rel)
    cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
             if c.metadata.get("nbgrader", {}).get("grade_id") in WRITTEN[rel]}
    assert set(cells) == WRITTEN[rel]
    schema = {c.metadata["nbgrader"]["schema_version"] for c in nb.cells if "nbgrader" in c.metadata}
    for gid, cell in cells.items():
        meta = cell.metadata["nbgrader"]
        assert cell.cell_type == "markdown", gid
        assert meta["grade"] is True and meta["solution"] is True and meta["task"] is False, gid
        assert meta["points"] > 0 and not meta.get("locked"), gid
        assert meta["schema_version"] in schema and len(schema) == 1, gid
        assert cell.source.startswith("### BEGIN SOLUTION\n") and cell.source.endswith("\n### END SOLUTION"), gid
        assert "Model answer" in model_answers()[gid] and "Rubric" in model_answers()[gid], gid
    assert {m.grade_id for m in manual_cells(nb)} == WRITTEN[rel]


@pytest.mark.parametrize("rel", sorted(WRITTEN))
def test_neither_runner_nor_checks_score_written_answers(rel):
    nb = _source(rel)
    assignment = rel.split("/")[0]
    written = WRITTEN[rel]
    assert not written & {g.grade_id for g in graded_cells(nb)}          # the judge's graded items
    assert not written & {label for label, _ in cells_to_run(nb, nb)}    # code the worker runs
    checks = (REPO / "autograder" / "checks" / f"{assignment}.py").read_text()
    assert not [w for w in written if w in checks] and not written & set(item_points(assignment))   # the checks
    assert not written & set(pipeline.max_points(REPO, assignment))     # autograded maxima
    assert written <= set(pipeline.manual_points(REPO, assignment))


@pytest.mark.parametrize("rel", sorted(WRITTEN))
def test_release_shows_your_answer_here_and_no_model_answer(rel):
    path = REPO / "release" / rel
    released = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nbformat.read(path, as_version=4).cells
                if c.metadata.get("nbgrader", {}).get("grade_id") in WRITTEN[rel]}
    assert released == {gid: "YOUR ANSWER HERE" for gid in WRITTEN[rel]}
    text = notebook_text(path)
    lines = model_answer_lines()
    assert lines and leaks_in_text(text, lines) == []
    for gid in WRITTEN[rel]:    # no sentence of a model answer, even inside another line
        for sentence in model_answers()[gid].replace("\n", " ").split(". "):
            assert len(sentence) < 30 or sentence not in text, (gid, sentence)


def test_missing_notebooks_still_list_the_written_answers():
    res = runner.grade_submission("s1", {}, "dna_unet", course_root=REPO)
    assert {m["grade_id"] for m in res.manual} == WRITTEN["dna_unet/dna_binding.ipynb"] | \
        WRITTEN["dna_unet/nuclei_unet.ipynb"]
    assert res.manual_max == sum(pipeline.manual_points(REPO, "dna_unet").values()) > 0
    assert res.max_total == sum(pipeline.max_points(REPO, "dna_unet").values())


# ---------------------------------------------------------------- a graded submission with written answers
@lru_cache(maxsize=None)
def _graded():
    """A jund submission (reference code, the student's own written answers), graded on one item, recorded."""
    course = pipeline.course_copy(Path(tempfile.mkdtemp(prefix="written-")) / "course", assignment_ids=["jund"])
    pipeline.generate_release(course, "jund")
    src = nbformat.read(course / "source/jund/jund.ipynb", as_version=4)
    nb = pipeline.fill_solutions(nbformat.read(course / "release/jund/jund.ipynb", as_version=4), src, {})
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == "written_jund_choice":
            cell.source = STUDENT_TEXT
    path = course / "submitted" / "s1" / "jund" / "jund.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(nb, path)
    res = runner.grade_submission("s1", {"jund.ipynb": path}, "jund", course_root=course,
                                  items=["weighted_accuracy"])
    out = course / "grades"
    runner.write_outputs([res], out)
    from autograder.gradebook import record
    record(course, "jund", [res], {"s1": {"jund.ipynb": path}})
    return course, res, out


@pytest.mark.slow
def test_outputs_say_graded_by_hand():
    course, res, out = _graded()
    assert res.status == "graded" and res.total == res.max_total == 5     # weighted_accuracy only
    rows = list(csv.DictReader((out / "grades.csv").open()))
    assert rows[0]["manual:written_jund_choice"] == rows[0]["manual:written_jund_weights"] == ""
    assert float(rows[0]["manual_max"]) == 5 and float(rows[0]["total"]) == 5
    tests = {t["name"]: t for t in json.loads((out / "s1" / "results.json").read_text())["tests"]}
    written = {n: t for n, t in tests.items() if "written" in n}
    assert len(written) == 2 and all(t["score"] == t["max_score"] == 0 for t in written.values())
    assert all("graded by hand" in t["output"] for t in written.values())
    page = (out / "s1" / "feedback.html").read_text()
    assert "written_jund_choice: graded by hand" in page
    assert leaks_in_text(page, model_answer_lines()) == []


@pytest.mark.slow
def test_gradebook_and_autograded_copy_keep_written_answers_for_tas():
    from nbgrader.api import Gradebook

    from autograder.gradebook import gradebook_url

    course, res, _ = _graded()
    with Gradebook(gradebook_url(course)) as gb:
        grades = {g.name: g for nb in gb.find_submission("jund", "s1").notebooks for g in nb.grades}
        for gid in WRITTEN["jund/jund.ipynb"]:
            assert grades[gid].needs_manual_grade and grades[gid].auto_score is None, gid
        assert grades["test_weighted_accuracy"].auto_score == 5
        assert not grades["test_weighted_accuracy"].needs_manual_grade
    copy = course / "autograded" / "s1" / "jund" / "jund.ipynb"
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nbformat.read(copy, as_version=4).cells}
    assert cells["written_jund_choice"].source == STUDENT_TEXT
    assert cells["written_jund_weights"].source == "YOUR ANSWER HERE"
    # the copy is the instructor's (hidden grade cells are back in it), but no model answer may be
    assert leaks_in_text(notebook_text(copy), model_answer_lines(), markers=("BEGIN SOLUTION", "END SOLUTION")) == []
