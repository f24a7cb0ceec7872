"""The judge: grade one submitted notebook with the hidden pytest checks, never running its code here.

`judge_notebook` starts a worker for the submission (in the chosen isolation) that runs the
notebook's locked cells (from the source notebook) and the student's answer cells, then runs
the assignment's check module with pytest; every check talks to the worker through
`remote.Student`. Scores are capped by the source notebook's points. Everything written
afterwards (grades.csv, results.json, feedback, the gradebook) comes from what this returns.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from . import plugin
from .isolation import Isolation, Launcher, Limits, WorkerJob, choose
from .notebooks import InvalidSubmission, cells_to_run, check_same_assignment, graded_cells, read_submission
from .outcomes import GRADER_ERROR, Report, WorkerLost
from .pipeline import grading_env
from .remote import Student

CHECKS_DIR = Path(__file__).resolve().parent / "checks"
CELL_BUDGET_S = 120          # one answer or provided cell
NOTEBOOK_BUDGET_S = 900      # running the whole notebook
NO_AUTOLOAD = "PYTEST_DISABLE_PLUGIN_AUTOLOAD"


@dataclass
class Settings:
    """How to grade: isolation, fast mode, budgets and limits."""
    isolation: Isolation = field(default_factory=lambda: choose())
    fast: bool = True
    cell_budget_s: float = CELL_BUDGET_S
    notebook_budget_s: float = NOTEBOOK_BUDGET_S
    memory_mb: int = 6000
    data_root: Path | None = field(default_factory=lambda: _data_root())
    hidden: tuple = ()           # course folders a uid-isolated worker must not read

    def job(self, cells: list) -> WorkerJob:
        env = worker_env(self.fast)
        limits = Limits(memory_mb=0 if _has_cuda() else self.memory_mb)
        return WorkerJob(cells=cells, cell_budget_s=self.cell_budget_s, start_budget_s=self.notebook_budget_s,
                         limits=limits, env=env)


def worker_env(fast: bool) -> dict:
    """What a worker's environment adds to the sandbox's own: fast mode."""
    return {"COURSE_FAST": "1"} if fast else {}


def _data_root() -> Path:
    from course_lib.config import data_root
    return data_root()


def _has_cuda() -> bool:
    import torch
    return torch.cuda.is_available()


def check_module(assignment: str) -> Path:
    path = CHECKS_DIR / f"{assignment}.py"
    if not path.exists():
        raise FileNotFoundError(f"no hidden checks for assignment {assignment!r} ({path} is missing)")
    return path


def run_checks(student: Student, assignment: str, items=None, extra_args=(), order_seed=None,
               module: Path | None = None) -> plugin.Grading:
    """Run the assignment's check module (or `module`) against `student`; the Grading holds every outcome."""
    grading = plugin.Grading(student, items, order_seed)
    args = [str(module or check_module(assignment)), "-c", str(CHECKS_DIR / "pytest.ini"),
            "--rootdir", str(Path(module).parent if module else CHECKS_DIR), "-q", "--no-header", "--capture=sys",
            *extra_args]
    plugin.ACTIVE = grading
    sink = io.StringIO()
    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            grading.exit_code = int(pytest_main(args, grading))
    finally:
        plugin.ACTIVE = None
    grading.log = sink.getvalue()
    return grading


def pytest_main(args, grading):
    """pytest on the checks with our plugin only: installed plugins (xdist, anyio, ...) are not loaded,
    which saves a third of a second per judge."""
    import pytest
    saved = os.environ.get(NO_AUTOLOAD)
    os.environ[NO_AUTOLOAD] = "1"
    try:
        return pytest.main(args, plugins=[grading])
    finally:
        if saved is None:
            os.environ.pop(NO_AUTOLOAD, None)
        else:
            os.environ[NO_AUTOLOAD] = saved


def zero_cells(source_nb, reason: str, items=None) -> list:
    return [{"grade_id": g.grade_id, "name": g.name, "score": 0.0, "max_score": g.points, "output": reason}
            for g in graded_cells(source_nb) if items is None or g.name in items]


def judge_notebook(submitted_path, source_path, assignment: str, settings: Settings | None = None,
                   items=None) -> dict:
    """Grade one notebook: {"cells", "status", "reason", "notes", "device", "isolation", "grader_errors"}.

    `items` limits grading to those graded items (e.g. to regrade one question); the others are left out.
    """
    settings = settings or Settings()
    source_nb = nbformat.read(source_path, as_version=4)
    base = {"device": "cpu", "isolation": settings.isolation.mode, "notes": [], "grader_errors": []}
    try:
        submitted = read_submission(submitted_path)
        check_same_assignment(submitted, source_nb, assignment)
    except InvalidSubmission as exc:
        return {**base, "cells": zero_cells(source_nb, str(exc), items), "status": "invalid", "reason": str(exc)}
    graded = [g for g in graded_cells(source_nb) if items is None or g.name in items]
    launcher = Launcher(settings.isolation, settings.data_root, hidden=settings.hidden)
    job = settings.job(cells_to_run(source_nb, submitted))
    starts = []                      # seconds each worker took to start (a lost one is started again)

    def start_worker():
        t = time.perf_counter()
        try:
            return launcher.start(job)
        finally:
            starts.append(time.perf_counter() - t)

    student = Student(start_worker)
    begin = time.perf_counter()
    try:
        try:
            student.start()
        except WorkerLost as exc:
            status = "timeout" if "did not finish" in str(exc) else "error"
            return {**base, "cells": zero_cells(source_nb, str(exc), items), "status": status, "reason": str(exc)}
        checks_began = time.perf_counter()
        grading = run_checks(student, assignment, items=[g.name for g in graded])
        checks_s = time.perf_counter() - checks_began
        device = "cuda" if student.connection is not None and student.connection.cuda else "cpu"
    finally:
        student.close()
        launcher.stop_all()
    reports = grading.reports()
    errors = [f"{nodeid}\n{tb}" for nodeid, tb in grading.errors]
    cells = []
    for g in graded:
        report = reports.get(g.name)
        if report is None:
            errors.append(f"no check ran for {g.name} (pytest exit code {grading.exit_code}):\n{grading.log[-3000:]}")
            report = Report(g.name, [], device)
            output, score = f"{g.name}: {GRADER_ERROR}", 0.0
        else:
            score = report.score if math.isfinite(report.score) else 0.0
            score = round(min(max(score, 0.0), g.points), 4)
            output = report.text()
            if abs(report.max_score - g.points) > 1e-6:
                errors.append(f"{g.name}: the checks are worth {report.max_score:g} points but the notebook "
                              f"gives {g.points:g} (run `python -m autograder release` to sync)")
        cells.append({"grade_id": g.grade_id, "name": g.name, "score": score, "max_score": g.points,
                      "output": output})
    notes = [f"cell {label}: {err}" for label, err in (student.first_cell_log or []) if err]
    status = "grader-error" if errors else "graded"
    timings = {"worker_start_s": round(sum(starts), 2), "worker_starts": len(starts), "workers_forked": launcher.forked,
               "checks_s": round(checks_s, 2), "judge_s": round(time.perf_counter() - begin, 2),
               "items_s": {name: round(sum(o.seconds for o in r.outcomes), 2) for name, r in reports.items()}}
    return {**base, "cells": cells, "status": status, "reason": GRADER_ERROR if errors else "", "notes": notes,
            "device": device, "grader_errors": errors, "timings": timings}


# ------------------------------------------------------------------------------ data, once per batch
def prepare_data(source_path, fast: bool = True, budget_s: float = 600) -> None:
    """Run the source notebook's own locked cells (trusted instructor code) once, outside any sandbox,
    so that every data set and cache a notebook reads exists before read-only workers start."""
    nb = nbformat.read(source_path, as_version=4)
    cells = [[label, code] for label, code in cells_to_run(nb, nb, solutions=False)]
    script = ("import json, sys\nfrom gradeworker.cells import run_cells\n"
              "run_cells([tuple(c) for c in json.load(sys.stdin)], 120)\n")
    env = grading_env(fast)      # the data folder the judges' workers will read
    import json
    with tempfile.TemporaryDirectory(prefix="prepare-") as cwd:
        subprocess.run([sys.executable, "-c", script], input=json.dumps(cells).encode(), cwd=cwd, env=env,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=budget_s, check=False)
