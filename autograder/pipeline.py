"""The nbgrader steps, as functions: release, sample submissions, autograde, grade table, feedback.

Every function takes the course root: a folder holding `nbgrader_config.py` and `source/`.
The repository root is one; `course_copy` makes a scratch one (for the demo and the tests),
so that sample submissions never mix with a real class's.
"""
from __future__ import annotations

import copy
import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

from .notebooks import manual_cells

REPO_ROOT = Path(__file__).resolve().parents[1]


class PipelineError(RuntimeError):
    """An nbgrader step failed; the message carries the end of its log."""


def assignments(course_root=REPO_ROOT) -> list[str]:
    """The assignment ids: folders of source/ holding at least one notebook."""
    src = Path(course_root) / "source"
    return sorted(p.name for p in src.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def source_notebooks(course_root, assignment: str) -> list[Path]:
    return sorted((Path(course_root) / "source" / assignment).glob("*.ipynb"))


def course_copy(dest, course_root=REPO_ROOT, assignment_ids=None) -> Path:
    """A fresh course folder at `dest` with the config and the source notebooks of `assignment_ids`."""
    dest = Path(dest)
    if dest.exists():
        shutil.rmtree(dest)
    (dest / "source").mkdir(parents=True)
    shutil.copy2(Path(course_root) / "nbgrader_config.py", dest / "nbgrader_config.py")
    for a in assignment_ids or assignments(course_root):
        shutil.copytree(Path(course_root) / "source" / a, dest / "source" / a,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "data", "*.pt", "*.h5"))
    return dest


def grading_env(fast: bool = True) -> dict:
    """Environment for nbgrader and its kernels: fast mode, a shared data cache, the repo importable."""
    env = dict(os.environ)
    if fast:
        env["COURSE_FAST"] = "1"
    env.setdefault("COURSE_DATA_DIR", str(REPO_ROOT / "data_cache"))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("MPLBACKEND", "Agg")
    env.setdefault("OMP_NUM_THREADS", "1")  # graders run side by side: one thread each avoids stalls
    # nbgrader shells out to `alembic` (and kernels to `python`): use this environment's own
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def run_nbgrader(args: list, course_root, fast: bool = True, timeout: float | None = None):
    """Run `nbgrader <args>` in `course_root`; PipelineError with the log's tail on failure."""
    cmd = [sys.executable, "-m", "nbgrader", *args]
    proc = subprocess.run(cmd, cwd=course_root, env=grading_env(fast), capture_output=True, text=True,
                          timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-30:])
        raise PipelineError(f"`nbgrader {' '.join(args)}` failed in {course_root}:\n{tail}")
    return proc


def generate_release(course_root, assignment: str) -> Path:
    """`nbgrader generate_assignment`: release/<assignment>/ from source/<assignment>/, plus the student
    wheel of course_lib, which travels with the notebooks (their set-up cell installs it)."""
    from .student_build import build_student_wheel

    run_nbgrader(["generate_assignment", assignment, "--force"], course_root)
    release = Path(course_root) / "release" / assignment
    build_student_wheel(release)
    return release


# ------------------------------------------------------------------ sample submissions
def _solution_cells(nb) -> dict:
    """The code answer cells (written answers stay as released: the source holds their model answer)."""
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells
            if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")}


def load_mutants(assignment: str) -> dict:
    """{mutant name: {solution grade_id: code}} from autograder.mutants.<assignment> (empty if none)."""
    try:
        module = importlib.import_module(f"autograder.mutants.{assignment}")
    except ModuleNotFoundError:
        return {}
    return dict(module.MUTANTS)


def fill_solutions(release_nb, source_nb, replacements: dict | None):
    """A student notebook: the release with its solution cells filled in.

    Cells named in `replacements` get that code; the other solution cells get the
    reference solution from the source notebook. Imports of the reference are replaced by its
    code, as a student's own notebook holds its own code. `replacements=None` leaves the release blank.
    """
    from .solutions import REFERENCE_DIR, inline_cell

    nb = copy.deepcopy(release_nb)
    if replacements is None:
        return nb
    reference, defined = _solution_cells(source_nb), set()
    for grade_id, cell in _solution_cells(nb).items():   # in notebook order: earlier answers stay in force
        cell.source = inline_cell(replacements.get(grade_id, reference[grade_id].source), REFERENCE_DIR, defined)
    return nb


def sample_submissions(assignment: str) -> dict:
    """{student id: replacements} for the demo: the reference, the blank release, each mutant."""
    subs = {"reference": {}, "blank": None}
    for name, replacements in load_mutants(assignment).items():
        subs[f"mutant-{name}"] = replacements
    return subs


def write_submissions(course_root, assignment: str, submissions: dict) -> list:
    """Write submitted/<student>/<assignment>/<notebook>.ipynb for each {student: replacements}."""
    root = Path(course_root)
    release = root / "release" / assignment
    written = []
    for student, replacements in submissions.items():
        folder = root / "submitted" / student / assignment
        folder.mkdir(parents=True, exist_ok=True)
        used = set()
        for src_path in source_notebooks(root, assignment):
            rel_nb = nbformat.read(release / src_path.name, as_version=4)
            src_nb = nbformat.read(src_path, as_version=4)
            ids = set(_solution_cells(src_nb))
            mine = None if replacements is None else {k: v for k, v in replacements.items() if k in ids}
            used |= set(mine or {})
            nbformat.write(fill_solutions(rel_nb, src_nb, mine), folder / src_path.name)
        unknown = set(replacements or {}) - used
        if unknown:
            raise KeyError(f"{assignment}: submission {student!r} replaces unknown solution cells {sorted(unknown)}")
        written.append(student)
    return written


# ------------------------------------------------------------------ grading
def autograde(course_root, assignment: str, students=None, timeout: float | None = None) -> None:
    """`nbgrader autograde` for every submitted student (or only `students`: ids or globs such as "v*"), fast mode.

    nbgrader takes one `--student` value per run, so each entry of `students` is one run.
    """
    for pattern in students or ["*"]:
        run_nbgrader(["autograde", assignment, "--force", "--student", pattern], course_root, timeout=timeout)


def generate_feedback(course_root, assignment: str) -> Path:
    run_nbgrader(["generate_feedback", assignment, "--force"], course_root)
    return Path(course_root) / "feedback"


def grades(course_root, assignment: str) -> dict:
    """{student: {grade cell id: score}} from the gradebook.

    A written answer not yet graded by hand scores 0 here, as nbgrader's `Grade.score` reports it;
    `manual_points` names those cells."""
    from nbgrader.api import Gradebook

    db = f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"
    table = {}
    with Gradebook(db) as gb:
        for sub in gb.assignment_submissions(assignment):
            row = {}
            for nb in sub.notebooks:
                for g in nb.grades:
                    row[g.name] = float(g.score)
            table[sub.student_id] = row
    return table


def max_points(course_root, assignment: str) -> dict:
    """{grade cell id: max points} of the autograded cells of the source notebooks (written answers,
    graded by hand, are left out: `manual_points`)."""
    out = {}
    for path in source_notebooks(course_root, assignment):
        for c in nbformat.read(path, as_version=4).cells:
            meta = c.metadata.get("nbgrader", {})
            if meta.get("grade") and not meta.get("solution"):
                out[meta["grade_id"]] = float(meta["points"])
    return out


def manual_points(course_root, assignment: str) -> dict:
    """{grade id: points} of the written answers (nbgrader's manually graded cells) of the source notebooks."""
    return {m.grade_id: m.points for path in source_notebooks(course_root, assignment)
            for m in manual_cells(nbformat.read(path, as_version=4))}


def format_table(table: dict, maxima: dict) -> str:
    """A plain-text grade table, students by grade cells, with totals."""
    cols = list(maxima)
    width = max([len(s) for s in table] + [8])
    head = f"{'student':<{width}} " + " ".join(f"{c.removeprefix('test_')[:14]:>14}" for c in cols) + f" {'total':>8}"
    lines = [head, f"{'(max)':<{width}} " + " ".join(f"{maxima[c]:>14g}" for c in cols)
             + f" {sum(maxima.values()):>8g}"]
    for student in sorted(table):
        row = table[student]
        lines.append(f"{student:<{width}} " + " ".join(f"{row.get(c, 0):>14g}" for c in cols)
                     + f" {sum(row.get(c, 0) for c in cols):>8g}")
    return "\n".join(lines)
