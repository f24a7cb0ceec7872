"""Grade submissions outside nbgrader: a trusted judge per notebook, many in parallel.

`grade_notebook` runs `python -m autograder judge` for one notebook (see `judge.py`: the
student's code runs in an isolated worker, the hidden checks in the judge) and reads the
judge's result. `grade_submission` grades one student's notebooks for an assignment;
`grade_batch` grades many with N workers (same scores as serial: every submission runs
alone, seeded). Results become Gradescope's results.json, a grades.csv row, a feedback page
and (see `gradebook.py`) nbgrader's gradebook.

Written answers (nbgrader's manually graded cells) are never scored here: `SubmissionResult.manual`
lists them, results.json shows each as a 0/0 test "graded by hand", grades.csv has an empty
`manual:<grade_id>` column per answer and their total in `manual_max`, and the gradebook marks them
as needing a manual grade (TAs grade them in nbgrader's formgrader). `total`/`max_total` are the
autograded points only.
"""
from __future__ import annotations

import csv
import html
import json
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from .judge import CELL_BUDGET_S, NOTEBOOK_BUDGET_S, worker_env, zero_cells
from .judge_server import end_templates, run_judge
from .notebooks import InvalidSubmission, check_same_assignment, manual_cells, read_submission
from .outcomes import GRADER_ERROR
from .pipeline import REPO_ROOT, grading_env, source_notebooks

SUBMISSION_BUDGET_S = NOTEBOOK_BUDGET_S
MEMORY_MB = 6000             # address-space limit of the worker (CPU only)
JUDGE_SLACK_S = 900          # the judge enforces every budget itself; this only catches a stuck judge


@dataclass
class SubmissionResult:
    student: str
    assignment: str
    status: str = "graded"               # graded | invalid | timeout | error | grader-error
    reason: str = ""
    cells: list = field(default_factory=list)   # {grade_id, name, score, max_score, output}
    device: str = "cpu"
    seconds: float = 0.0
    notes: list = field(default_factory=list)   # e.g. renamed files, errors raised by the student's cells
    isolation: str = "none"
    grader_errors: list = field(default_factory=list)   # tracebacks for the instructor, never shown to students
    timings: list = field(default_factory=list)  # per notebook: where the judge's time went (for bench/)
    manual: list = field(default_factory=list)   # written answers graded by hand: {grade_id, max_score}

    @property
    def total(self) -> float:
        return round(sum(c["score"] for c in self.cells), 4)

    @property
    def max_total(self) -> float:
        return round(sum(c["max_score"] for c in self.cells), 4)

    @property
    def manual_max(self) -> float:
        return round(sum(m["max_score"] for m in self.manual), 4)


BY_HAND = "graded by hand"


def manual_entries(source_nb) -> list:
    """{grade_id, max_score} of each written answer of a source notebook (scored by TAs, never here)."""
    return [{"grade_id": m.grade_id, "max_score": m.points} for m in manual_cells(source_nb)]


def grade_notebook(submitted_path, source_path, assignment: str, *, fast: bool = True,
                   timeout_s: float = SUBMISSION_BUDGET_S, cell_budget_s: float = CELL_BUDGET_S,
                   memory_mb: int = MEMORY_MB, isolation: str | None = None, course_root=REPO_ROOT,
                   items=None) -> dict:
    """The judge's result for one submitted notebook: {cells, status, reason, notes, device, isolation, grader_errors}."""
    source_nb = nbformat.read(source_path, as_version=4)
    from .isolation import choose
    mode = choose(isolation).mode
    try:   # a file that is no notebook of this assignment needs no judge (the judge checks it again)
        check_same_assignment(read_submission(submitted_path), source_nb, assignment)
    except InvalidSubmission as exc:
        return {"cells": zero_cells(source_nb, str(exc), items), "status": "invalid", "reason": str(exc), "notes": [],
                "device": "cpu", "isolation": mode, "grader_errors": []}
    with tempfile.TemporaryDirectory(prefix="judge-") as tmp:
        out, log = Path(tmp) / "result.json", Path(tmp) / "judge.log"
        argv = ["judge", str(submitted_path), "--source", str(source_path), "-a", assignment, "--out", str(out),
                "--isolation", mode, "--no-probe", "--course", str(course_root), "--cell-budget", str(cell_budget_s),
                "--notebook-budget", str(timeout_s), "--memory-mb", str(memory_mb)]
        if not fast:
            argv.append("--full")
        for item in items or ():
            argv += ["--only", item]
        start = time.perf_counter()
        env = grading_env(fast)
        workers = {"isolation": mode, "data_root": env["COURSE_DATA_DIR"], "env": worker_env(fast)}
        code = run_judge(argv, env, timeout_s + JUDGE_SLACK_S, log, workers)
        stderr = log.read_text(errors="replace")[-5000:] if log.exists() else ""
        if code is None:
            stderr = f"the judge did not finish in {timeout_s + JUDGE_SLACK_S:g} s"
        try:
            result = json.loads(out.read_text())
            timings = result.setdefault("timings", {})
            timings["judge_process_s"] = round(time.perf_counter() - start, 2)
            return result
        except (OSError, ValueError):
            return {"cells": zero_cells(source_nb, GRADER_ERROR, items), "status": "grader-error", "reason": GRADER_ERROR,
                    "notes": [], "device": "cpu", "isolation": mode,
                    "grader_errors": [f"the judge of {submitted_path} wrote no result:\n{stderr}"]}


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
        source_nb = nbformat.read(source_path, as_version=4)
        res.manual += manual_entries(source_nb)
        if path is None:
            reason = f"{source_path.name} was not submitted"
            res.cells += zero_cells(source_nb, reason)
            res.status, res.reason = "invalid", reason
            continue
        payload = grade_notebook(path, source_path, assignment, course_root=course_root, **kw)
        res.cells += payload["cells"]
        res.device, res.isolation = payload["device"], payload["isolation"]
        res.notes += payload["notes"]       # errors raised by the student's cells, shown in feedback
        res.grader_errors += payload["grader_errors"]
        res.timings.append(payload.get("timings", {}))
        if payload["status"] != "graded":
            res.status = payload["status"]
            res.reason = "; ".join(filter(None, [res.reason, payload["reason"]]))
    res.seconds = round(time.perf_counter() - start, 1)
    return res


def grade_batch(submissions: dict, assignment: str, workers: int | None = None, course_root=REPO_ROOT,
                on_result=None, **kw) -> list:
    """Grade {student: {notebook name: path}} with `workers` parallel graders (default: CPU count).

    `on_result(result)` is called (in this thread) with each SubmissionResult as it finishes, e.g. a
    `progress.Progress`; the returned list is sorted by student.
    """
    from .isolation import choose
    from .judge import prepare_data

    workers = workers or os.cpu_count() or 1
    kw["isolation"] = choose(kw.get("isolation")).mode     # probed once for the whole batch
    for source in source_notebooks(course_root, assignment):   # workers read the data read-only: make it first
        prepare_data(source, fast=kw.get("fast", True))
    done = {}
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = {pool.submit(grade_submission, s, f, assignment, course_root, **kw): s
                       for s, f in sorted(submissions.items())}
            for future in as_completed(futures):
                done[futures[future]] = result = future.result()
                if on_result is not None:
                    on_result(result)
    finally:
        end_templates()          # the batch's worker template ends with it
    return [done[s] for s in sorted(done)]


# ------------------------------------------------------------------ outputs
def results_json(res: SubmissionResult) -> dict:
    """Gradescope's results.json for one submission."""
    tests = [{"name": c["name"], "score": c["score"], "max_score": c["max_score"], "output": c["output"],
              "visibility": "visible"} for c in res.cells]
    tests += [{"name": f"{m['grade_id']} (written answer)", "score": 0, "max_score": 0, "visibility": "visible",
               "output": f"{BY_HAND}: up to {m['max_score']:g} points, added by the course staff"}
              for m in res.manual]
    summary = f"{res.assignment}: {res.total:g}/{res.max_total:g} points (graded on {res.device})"
    if res.manual:
        summary += f"; written answers ({res.manual_max:g} points) are {BY_HAND}, not in this score"
    if res.reason:
        summary += f"\n{res.reason}"
    return {"score": res.total, "execution_time": res.seconds, "output": summary, "tests": tests,
            "extra_data": {"status": res.status, "device": res.device, "isolation": res.isolation,
                           "notes": res.notes}}


def write_grades_csv(results: list, path) -> Path:
    """One row per submission: student, assignment, status, reason, each cell's score, an empty
    `manual:<grade_id>` column per written answer (for the TAs), total and max_total (autograded
    points), manual_max (the written answers' points)."""
    path = Path(path)
    cells, manual = [], []
    for r in results:
        for c in r.cells:
            if c["grade_id"] not in cells:
                cells.append(c["grade_id"])
        for m in r.manual:
            if m["grade_id"] not in manual:
                manual.append(m["grade_id"])
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "assignment", "status", "reason", *cells, *[f"manual:{m}" for m in manual],
                    "total", "max_total", "manual_max", "device", "isolation", "notes"])
        for r in results:
            by = {c["grade_id"]: c["score"] for c in r.cells}
            w.writerow([r.student, r.assignment, r.status, r.reason, *[by.get(c, "") for c in cells],
                        *["" for _ in manual], r.total, r.max_total, r.manual_max, r.device, r.isolation,
                        "; ".join(r.notes)])
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
    if res.manual:
        parts.append(f"<h2>Written answers ({res.manual_max:g} points): {BY_HAND}</h2><ul>")
        parts += [f"<li>{html.escape(m['grade_id'])}: {BY_HAND}, up to {m['max_score']:g} points (not included "
                  "in the score above)</li>" for m in res.manual]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts)


def write_outputs(results: list, out_dir) -> Path:
    """grades.csv, per student results.json and feedback.html under out_dir/<student>/, and the
    instructor's grader-errors.log (tracebacks of checks that crashed; empty when none did)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    for r in results:
        d = out_dir / r.student
        d.mkdir(exist_ok=True)
        (d / "results.json").write_text(json.dumps(results_json(r), indent=1))
        (d / "feedback.html").write_text(feedback_html(r))
    log = "".join(f"=== {r.student}\n{e}\n" for r in results for e in r.grader_errors)
    (out_dir / "grader-errors.log").write_text(log)
    return write_grades_csv(results, out_dir / "grades.csv")
