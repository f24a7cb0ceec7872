"""Put the trusted runner's scores and reports where nbgrader's tools look for them.

After `python -m autograder grade`, each student's auto scores go into the course's
`gradebook.db` (through `nbgrader.api`), and an autograded copy of each notebook goes to
`autograded/<student>/<assignment>/`: the submission with the source's grade cells put back
and the judge's report as their output. `nbgrader formgrade` then shows the scores and reports
(and lets TAs grade the written answers), `nbgrader generate_feedback` makes feedback from the
autograded copies, and `nbgrader export` includes the runner's scores.

Written answers (manually graded cells) get no auto score: they are marked as needing a manual
grade (unless a TA has graded them already), and the autograded copy keeps the student's own text.
"""
from __future__ import annotations

import datetime
from pathlib import Path

import nbformat

from .notebooks import is_manual, nbgrader_meta, read_submission


def gradebook_url(course_root) -> str:
    return f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"


def record(course_root, assignment: str, results: list, files: dict) -> int:
    """Write `results` (runner.SubmissionResult) into the gradebook and autograded/; return submissions recorded.

    `files` is {student: {notebook name: submitted path}}. The assignment must have been
    released in this course (`nbgrader generate_assignment` creates it in the gradebook).
    """
    from nbgrader.api import Gradebook, MissingEntry

    course_root = Path(course_root)
    if not (course_root / "gradebook.db").exists():
        raise FileNotFoundError(f"{course_root / 'gradebook.db'} does not exist: release the assignment with "
                                "nbgrader (python -m autograder release) in this course folder first")
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    with Gradebook(gradebook_url(course_root)) as gb:
        try:
            gb.find_assignment(assignment)
        except MissingEntry:
            raise ValueError(f"assignment {assignment!r} is not in {course_root / 'gradebook.db'}: release it "
                             "with nbgrader first") from None
        for res in results:
            gb.update_or_create_student(res.student)
            try:
                submission = gb.find_submission(assignment, res.student)
            except MissingEntry:
                submission = gb.add_submission(assignment, res.student, timestamp=now)
            scores = {c["grade_id"]: c["score"] for c in res.cells}
            manual = {m["grade_id"] for m in res.manual}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    if grade.name in scores:
                        grade.auto_score = float(scores[grade.name])
                        grade.needs_manual_grade = False
                    elif grade.name in manual:
                        grade.auto_score = None
                        grade.needs_manual_grade = grade.manual_score is None
            gb.db.commit()
            _write_autograded(course_root, assignment, res, files.get(res.student, {}))
    return len(results)


def _write_autograded(course_root: Path, assignment: str, res, files: dict) -> None:
    """autograded/<student>/<assignment>/<nb>: the submission, its grade cells restored, the reports as outputs.

    Only the hidden (autograded) grade cells come from the source; written answers stay the student's own
    (the source's copy holds the model answer)."""
    reports = {c["grade_id"]: c["output"] for c in res.cells}
    for source in sorted((course_root / "source" / assignment).glob("*.ipynb")):
        path = files.get(source.name)
        if path is None:
            continue
        try:
            nb = read_submission(path)
        except ValueError:
            continue   # an unreadable submission has its zero in the gradebook already
        grade_cells = {nbgrader_meta(c).get("grade_id"): c for c in nbformat.read(source, as_version=4).cells
                       if nbgrader_meta(c).get("grade") and not is_manual(c)}
        kept = []
        for cell in nb.cells:
            gid = nbgrader_meta(cell).get("grade_id")
            if gid in grade_cells:
                continue
            kept.append(cell)
        nb.cells = _with_grade_cells(nbformat.read(source, as_version=4), kept, grade_cells, reports)
        dest = course_root / "autograded" / res.student / assignment / source.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, dest)


def _with_grade_cells(source_nb, submitted_cells: list, grade_cells: dict, reports: dict) -> list:
    """The submitted cells with each source grade cell put back after the cell that precedes it in the source."""
    order = [nbgrader_meta(c).get("grade_id") for c in source_nb.cells]
    out = list(submitted_cells)
    for gid, cell in grade_cells.items():
        cell = nbformat.from_dict(dict(cell))
        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=reports.get(gid, "") + "\n")]
        anchor = order[order.index(gid) - 1] if order.index(gid) > 0 else None
        at = next((i + 1 for i, c in enumerate(out) if anchor and nbgrader_meta(c).get("grade_id") == anchor),
                  len(out))
        out.insert(at, cell)
    return out
