"""Grade submissions outside nbgrader: one clean subprocess per notebook, many in parallel.

`grade_submission` grades one student's notebooks for an assignment; `grade_batch` grades
many with N workers (same scores as serial: every submission runs alone in a fresh
process, seeded). Results become Gradescope's results.json, a grades.csv row and a
feedback page.
"""
from __future__ import annotations

import csv
import html
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from .notebooks import InvalidSubmission, cells_to_run, check_same_assignment, graded_cells, read_submission
from .pipeline import REPO_ROOT, grading_env, source_notebooks

CELL_BUDGET_S = 120          # one answer or provided cell
SUBMISSION_BUDGET_S = 900    # one notebook, everything included
MEMORY_MB = 6000             # address-space limit of the grading process (CPU only)


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    status: str = "graded"               # graded | invalid | timeout | error
    reason: str = ""
    cells: list = field(default_factory=list)   # {grade_id, name, score, max_score, output}
    device: str = "cpu"
    seconds: float = 0.0
    notes: list = field(default_factory=list)   # e.g. renamed files

    @property
    def total(self) -> float:
        return round(sum(c["score"] for c in self.cells), 4)

    @property
    def max_total(self) -> float:
        return round(sum(c["max_score"] for c in self.cells), 4)


def _zero_cells(source_nb, reason: str) -> list:
    return [{"grade_id": g.grade_id, "name": g.name, "score": 0.0, "max_score": g.points, "output": reason}
            for g in graded_cells(source_nb)]


def grade_notebook(submitted_path, source_path, assignment: str, *, fast: bool = True,
                   timeout_s: float = SUBMISSION_BUDGET_S, cell_budget_s: float = CELL_BUDGET_S,
                   memory_mb: int = MEMORY_MB) -> tuple:
    """(cells, device, status, reason) for one submitted notebook against its source notebook."""
    source_nb = nbformat.read(source_path, as_version=4)
    try:
        submitted = read_submission(submitted_path)
        check_same_assignment(submitted, source_nb, assignment)
    except InvalidSubmission as exc:
        return _zero_cells(source_nb, str(exc)), "cpu", "invalid", str(exc)
    graded = graded_cells(source_nb)
    with tempfile.TemporaryDirectory(prefix="grade-") as scratch:
        job, result = Path(scratch) / "job.json", Path(tempfile.mkdtemp(prefix="result-")) / "result.json"
        job.write_text(json.dumps({
            "cells": cells_to_run(source_nb, submitted),
            "graded": [asdict(g) for g in graded],
            "cell_budget_s": cell_budget_s,
            "memory_mb": 0 if _has_cuda() else memory_mb,
        }))
        env = grading_env(fast)
        env.update(OMP_NUM_THREADS="1", MKL_NUM_THREADS="1", PYTHONHASHSEED="0")
        work = Path(scratch) / "work"
        work.mkdir()
        try:
            subprocess.run([sys.executable, "-m", "autograder.sandbox", str(job), str(result)], cwd=work, env=env,
                           stdout=subprocess.DEVNULL, stderr=None if os.environ.get("AUTOGRADER_DEBUG") else subprocess.DEVNULL, timeout=timeout_s)
        except subprocess.TimeoutExpired:
            reason = f"grading stopped after {timeout_s:g} s (endless loop or very long training?)"
            return _zero_cells(source_nb, reason), "cpu", "timeout", reason
        try:
            payload = json.loads(result.read_text())
        except (OSError, ValueError):
            reason = "the notebook crashed the grader (out of memory?)"
            return _zero_cells(source_nb, reason), "cpu", "error", reason
        finally:
            result.unlink(missing_ok=True)
            result.parent.rmdir()
    errors = [f"cell {label}: {err}" for label, err in payload["cell_log"] if err]
    return payload["cells"], payload["device"], "graded", "; ".join(errors)


def _has_cuda() -> bool:
    try:
        import torch
        return torch.cuda.is_available()
    except Exception:
        return False


def grade_submission(student: str, files: dict, assignment: str, course_root=REPO_ROOT, **kw) -> SubmissionResult:
    """Grade one student's notebooks: `files` maps each source notebook name to the submitted path (or None)."""
    start = time.perf_counter()
    res = SubmissionResult(student, assignment)
    for source_path in source_notebooks(course_root, assignment):
        path = files.get(source_path.name)
        if path is None:
            reason = f"{source_path.name} was not submitted"
            res.cells += _zero_cells(nbformat.read(source_path, as_version=4), reason)
            res.status, res.reason = "invalid", reason
            continue
        cells, device, status, reason = grade_notebook(path, source_path, assignment, **kw)
        res.cells += cells
        res.device = device
        if status == "graded" and reason:
            res.notes.append(reason)  # errors raised by the student's cells, shown in feedback
        elif status != "graded":
            res.status, res.reason = status, "; ".join(filter(None, [res.reason, reason]))
    res.seconds = round(time.perf_counter() - start, 1)
    return res


def grade_batch(submissions: dict, assignment: str, workers: int | None = None, course_root=REPO_ROOT,
                **kw) -> list:
    """Grade {student: {notebook name: path}} with `workers` parallel graders (default: CPU count)."""
    workers = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {s: pool.submit(grade_submission, s, f, assignment, course_root, **kw)
                   for s, f in sorted(submissions.items())}
        return [futures[s].result() for s in sorted(futures)]


# ------------------------------------------------------------------ outputs
def results_json(res: SubmissionResult) -> dict:
    """Gradescope's results.json for one submission."""
    tests = [{"name": c["name"], "score": c["score"], "max_score": c["max_score"], "output": c["output"],
              "visibility": "visible"} for c in res.cells]
    summary = f"{res.assignment}: {res.total:g}/{res.max_total:g} points (graded on {res.device})"
    if res.reason:
        summary += f"\n{res.reason}"
    return {"score": res.total, "execution_time": res.seconds, "output": summary, "tests": tests,
            "extra_data": {"status": res.status, "device": res.device, "notes": res.notes}}


def write_grades_csv(results: list, path) -> Path:
    """One row per submission: student, assignment, status, reason, each cell's score, total."""
    path = Path(path)
    cells = []
    for r in results:
        for c in r.cells:
            if c["grade_id"] not in cells:
                cells.append(c["grade_id"])
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "assignment", "status", "reason", *cells, "total", "max_total", "device", "notes"])
        for r in results:
            by = {c["grade_id"]: c["score"] for c in r.cells}
            w.writerow([r.student, r.assignment, r.status, r.reason, *[by.get(c, "") for c in cells], r.total,
                        r.max_total, r.device, "; ".join(r.notes)])
    return path


def feedback_html(res: SubmissionResult) -> str:
    """A feedback page: the score and each check's short report (never any hidden code)."""
    parts = [f"<html><head><meta charset='utf-8'><title>{html.escape(res.assignment)} feedback</title></head><body>",
             f"<h1>{html.escape(res.assignment)}: {res.total:g} / {res.max_total:g}</h1>"]
    if res.reason:
        parts.append(f"<p><b>{html.escape(res.reason)}</b></p>")
    for c in res.cells:
        parts.append(f"<h2>{html.escape(c['name'])}: {c['score']:g} / {c['max_score']:g}</h2>"
                     f"<pre>{html.escape(c['output'])}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_outputs(results: list, out_dir) -> Path:
    """grades.csv, and per student results.json and feedback.html under out_dir/<student>/."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for r in results:
        d = out_dir / r.student
        d.mkdir(exist_ok=True)
        (d / "results.json").write_text(json.dumps(results_json(r), indent=1))
        (d / "feedback.html").write_text(feedback_html(r))
    return write_grades_csv(results, out_dir / "grades.csv")
