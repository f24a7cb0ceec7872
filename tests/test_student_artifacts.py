"""Nothing a student receives contains solutions or hidden checks; release/ has no drift."""
import zipfile

import nbformat
import pytest

from autograder import pipeline
from autograder.student_build import build_student_wheel
from leak_scan import REPO, leaks_in_text, notebook_text, secret_lines

ASSIGNMENTS = pipeline.assignments()


def test_every_assignment_has_a_committed_release():
    for a in ASSIGNMENTS:
        for src in pipeline.source_notebooks(REPO, a):
            assert (REPO / "release" / a / src.name).exists(), f"release/{a}/{src.name} missing: run make release"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_notebooks_leak_nothing(assignment):
    secrets = secret_lines()
    for path in sorted((REPO / "release" / assignment).rglob("*.ipynb")):
        assert leaks_in_text(notebook_text(path), secrets) == [], path


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_has_stubs_and_locked_tests(assignment):
    for path in sorted((REPO / "release" / assignment).rglob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        solutions = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]
        code = [c for c in solutions if c.cell_type == "code"]
        assert code and all("raise NotImplementedError()" in c.source for c in code)
        assert all(c.source == "YOUR ANSWER HERE" for c in solutions if c.cell_type == "markdown"), path
        hidden = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c not in solutions]
        assert hidden and all(c.metadata["nbgrader"].get("locked") for c in hidden)


def test_release_notebooks_cite_no_bench_script():
    """Students get no bench/ folder: a notebook that cites bench/*.py points them at a file they do not have."""
    import re

    cited = {path.relative_to(REPO).as_posix(): sorted(set(re.findall(r"\bbench/\w+(?:\.py)?", notebook_text(path))))
             for path in sorted((REPO / "release").rglob("*.ipynb"))}
    assert cited and {p: c for p, c in cited.items() if c} == {}


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_matches_nbgrader_output(assignment, tmp_path):
    course = pipeline.course_copy(tmp_path / "course", assignment_ids=[assignment])
    fresh = pipeline.generate_release(course, assignment)
    committed = REPO / "release" / assignment
    names = sorted(p.relative_to(fresh).as_posix() for p in fresh.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(committed).as_posix() for p in committed.rglob("*") if p.is_file())
    for name in names:
        what = "is not the current student build of course_lib" if name.endswith(".whl") else \
            "differs from what nbgrader generates"
        assert (fresh / name).read_bytes() == (committed / name).read_bytes(), \
            f"release/{assignment}/{name} {what}: run make release"


def test_student_wheel_has_no_solutions(tmp_path):
    wheel = build_student_wheel(tmp_path)
    secrets = secret_lines()
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        assert not [n for n in names if "/reference/" in n or n.startswith("autograder")]
        assert "course_lib/data/jund.py" in names and "course_lib/training.py" in names
        for n in names:
            if n.endswith((".py", ".jaspar", ".txt", ".md")):
                assert leaks_in_text(zf.read(n).decode(), secrets) == [], n


def test_leak_scan_finds_a_planted_leak():
    """The scan itself must be able to fail: a reference line pasted into a notebook is caught."""
    secret = sorted(secret_lines())[0]
    assert leaks_in_text(f"x = 1\n    {secret}\n", secret_lines()) == [secret]
    assert leaks_in_text("### BEGIN SOLUTION", set()) == ["BEGIN SOLUTION"]


@pytest.mark.slow
def test_gradebook_stays_out_of_student_paths(tmp_path):
    """nbgrader's gradebook holds the hidden tests: never in release/, the wheel, or git."""
    course = pipeline.course_copy(tmp_path / "course", assignment_ids=["jund"])
    pipeline.generate_release(course, "jund")
    db = course / "gradebook.db"
    assert db.exists() and b"BEGIN HIDDEN TESTS" in db.read_bytes(), "the gradebook is where hidden tests live"
    assert not [p for p in (course / "release").rglob("*") if p.suffix in {".db", ".sqlite"}]
    assert not [p for p in (REPO / "release").rglob("*") if p.suffix in {".db", ".sqlite"}]
    with zipfile.ZipFile(build_student_wheel(tmp_path / "dist")) as zf:
        assert not [n for n in zf.namelist() if n.endswith((".db", ".sqlite"))]
    ignored = (REPO / ".gitignore").read_text().split()
    assert "gradebook.db" in ignored
