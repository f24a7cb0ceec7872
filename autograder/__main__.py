"""Command line: `python -m autograder <command>` (run from the repository root).

  release        regenerate release/ from source/ with nbgrader (with the student wheel in each folder)
  demo           release, then grade sample submissions (reference, blank, mutants) with the
                 trusted runner in a scratch course folder and print the grade tables
  student-build  build the student wheel of course_lib (no reference, no autograder)
  collect        LMS download (zip or folder) -> submitted/<student>/<assignment>/
  grade          grade every submitted/<student>/<assignment>/ in parallel (or on a Dask cluster:
                 --scheduler) -> grades/<assignment>/
  run            grade one submission (a notebook or a folder) -> results.json (Gradescope format)
  judge          grade one notebook with the hidden checks (what `grade` and `run` call) -> JSON
  gradescope     build the Gradescope autograder zip of an assignment
  solutions      after the deadline: notebooks with the reference code inlined, executed
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import pipeline


def cmd_release(args) -> int:
    from .grade_cells import sync_grade_cells
    from .setup_cell import sync_setup_cells

    for a in args.assignment or pipeline.assignments():
        t = time.perf_counter()
        for path in sync_setup_cells(pipeline.REPO_ROOT, a):
            print(f"{path.relative_to(pipeline.REPO_ROOT)}: first cells updated (README times, course_config.json)")
        for path in sync_grade_cells(pipeline.REPO_ROOT, a):
            print(f"{path.relative_to(pipeline.REPO_ROOT)}: grade cells updated from autograder/checks/{a}.py")
        pipeline.generate_release(pipeline.REPO_ROOT, a)
        print(f"release/{a}: generated in {time.perf_counter() - t:.1f} s")
    return 0


def _demo_one(out: Path, a: str, workers: int) -> tuple:
    """Release, sample submissions, trusted grading, gradebook and feedback for one assignment in a scratch course."""
    from . import runner
    from .gradebook import record

    t = time.perf_counter()
    course = pipeline.course_copy(out / a, assignment_ids=[a])
    pipeline.generate_release(course, a)
    subs = pipeline.sample_submissions(a)
    pipeline.write_submissions(course, a, subs)
    files = _submitted(course, a)
    results = runner.grade_batch(files, a, workers=workers, course_root=course)
    runner.write_outputs(results, course / "grades" / a)
    record(course, a, results, files)
    feedback = pipeline.generate_feedback(course, a)
    table = pipeline.format_table(pipeline.grades(course, a), pipeline.max_points(course, a))
    return len(subs), table, feedback, results[0].isolation, time.perf_counter() - t


def cmd_demo(args) -> int:
    import os

    start = time.perf_counter()
    ids = args.assignment or pipeline.assignments()
    out = Path(args.out)
    workers = args.workers or os.cpu_count() or 1
    print(f"grading sample submissions of {', '.join(ids)} with the trusted runner ({workers} at a time, fast mode)")
    for a in ids:
        n, table, feedback, isolation, seconds = _demo_one(out, a, workers)
        print(f"\n== {a}: {n} sample submissions (reference, blank, mutants) graded in {seconds:.0f} s "
              f"(isolation: {isolation}); scores as nbgrader's gradebook has them:")
        print(table)
        print(f"grades.csv, results.json, feedback.html: {out / a / 'grades' / a}/; "
              f"nbgrader feedback: {feedback}/<student>/{a}/*.html")
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s")
    return 0


def cmd_student_build(args) -> int:
    from .student_build import build_student_wheel

    wheel = build_student_wheel(Path(args.out))
    print(f"student wheel: {wheel}")
    return 0


def _submitted(course: Path, assignment: str) -> dict:
    """{student: {notebook name: path}} for every student folder under submitted/."""
    out = {}
    for d in sorted((course / "submitted").glob(f"*/{assignment}")):
        out[d.parent.name] = {p.name: p for p in d.glob("*.ipynb")}
    return out


def cmd_collect(args) -> int:
    from .intake import collect, write_intake_log

    course = Path(args.course)
    names = [p.name for p in pipeline.source_notebooks(course, args.assignment)]
    log = collect(Path(args.download), args.assignment, names, course, **({"pattern": args.pattern} if args.pattern else {}))
    path = write_intake_log(log, course / "grades" / args.assignment / "intake.csv")
    matched = sum(e.notebook is not None for e in log)
    print(f"{matched} notebooks copied to {course / 'submitted'}; {len(log) - matched} files not matched; log: {path}")
    for e in log:
        if e.note:
            print(f"  {e.student}: {e.original}: {e.note}")
    return 0


def cmd_grade(args, client=None) -> int:
    from . import runner
    from .progress import Progress

    course = Path(args.course)
    subs = _submitted(course, args.assignment)
    if not subs:
        print(f"no submissions under {course}/submitted/*/{args.assignment}/", file=sys.stderr)
        return 1
    kw = dict(course_root=course, fast=not args.full, isolation=args.isolation, items=args.only)
    own_client = args.scheduler and client is None
    if own_client:
        from .cluster import connect
        client = connect(args.scheduler)
    try:
        with Progress(len(subs), enabled=False if args.no_progress else None) as progress:
            if client is not None:
                from . import cluster
                where = f"on the Dask cluster at {client.scheduler.address}"
                results = cluster.grade_batch(client, subs, args.assignment, on_result=progress, **kw)
            else:
                where = f"with {args.workers or 'all'} workers"
                results = runner.grade_batch(subs, args.assignment, workers=args.workers, on_result=progress, **kw)
    finally:
        if own_client:
            client.close()
    out = Path(args.out or course / "grades" / args.assignment)
    csv_path = runner.write_outputs(results, out)
    print(f"{progress.summary()} ({where}; isolation: {', '.join(sorted({r.isolation for r in results}))})")
    for r in results:
        print(f"  {r.student:<30} {r.total:>6g}/{r.max_total:g}  {r.status}{': ' + r.reason if r.reason else ''}")
    print(f"grades: {csv_path}; results.json and feedback.html per student in {out}/<student>/")
    if any(r.grader_errors for r in results):
        print(f"grader errors (a check crashed; those students read 'grader error'): {out / 'grader-errors.log'}")
    if not args.no_gradebook and not args.only:
        from .gradebook import record
        try:
            n = record(course, args.assignment, results, subs)
            print(f"gradebook: {n} submissions recorded in {course / 'gradebook.db'} and {course / 'autograded'}/")
        except (FileNotFoundError, ValueError) as exc:
            print(f"gradebook not updated: {exc}")
    return 0


def cmd_run(args) -> int:
    import json

    from . import runner

    course = Path(args.course)
    target = Path(args.submission)
    found = sorted(target.rglob("*.ipynb")) if target.is_dir() else [target]
    from .intake import match_notebook

    from .judge import prepare_data

    names = [p.name for p in pipeline.source_notebooks(course, args.assignment)]
    for source in pipeline.source_notebooks(course, args.assignment):
        prepare_data(source, fast=not args.full)
    files, notes = {}, []
    for path in found:
        nb = match_notebook(path.name, names) or (names[0] if len(names) == 1 and len(found) == 1 else None)
        if nb and nb not in files:
            files[nb] = path
            if path.name != nb:
                notes.append(f"{path.name} graded as {nb}")
    result = runner.grade_submission(args.student, files, args.assignment, course_root=course, fast=not args.full)
    result.notes = notes + result.notes
    payload = runner.results_json(result)
    if args.results:
        Path(args.results).parent.mkdir(parents=True, exist_ok=True)
        Path(args.results).write_text(json.dumps(payload, indent=1))
    print(payload["output"])
    for t in payload["tests"]:
        print(f"  {t['name']}: {t['score']:g}/{t['max_score']:g}")
    return 0


def cmd_judge(args) -> int:
    import json

    import os

    from .isolation import choose, die_with_parent
    from .judge import Settings, judge_notebook

    if os.environ.get("AUTOGRADER_PARENT_PID", "").isdigit():     # started by the runner (locally or on Dask)
        die_with_parent(int(os.environ["AUTOGRADER_PARENT_PID"]))
    course = Path(args.course)
    folders = ("source", "submitted", "autograded", "feedback", "grades", "gradebook.db")
    # the graded course's instructor folders and those of the course this grader was installed from
    hidden = tuple(dict.fromkeys(root / p for root in (course, pipeline.REPO_ROOT) for p in folders))
    settings = Settings(isolation=choose(args.isolation, probe=not args.no_probe), fast=not args.full,
                        cell_budget_s=args.cell_budget, notebook_budget_s=args.notebook_budget,
                        memory_mb=args.memory_mb, hidden=hidden)
    result = judge_notebook(Path(args.submission), Path(args.source), args.assignment, settings,
                            items=args.only or None)
    text = json.dumps(result, indent=1)
    if args.out:
        Path(args.out).write_text(text)
    else:
        print(text)
    return 0


def cmd_gradescope(args) -> int:
    from .gradescope import build_zip

    out = build_zip(args.assignment, Path(args.out or f"dist/gradescope_{args.assignment}.zip"), Path(args.course))
    print(f"Gradescope autograder zip: {out}")
    return 0


def cmd_solutions(args) -> int:
    from .solutions import build_solutions

    for a in args.assignment or pipeline.assignments():
        t = time.perf_counter()
        paths = build_solutions(a, Path(args.out), execute=not args.no_execute, fast=not args.full)
        print(f"{a}: {', '.join(str(p) for p in paths)} ({time.perf_counter() - t:.0f} s)")
    return 0


def main(argv=None, client=None) -> int:
    """Run a command; `client` (a dask.distributed Client, e.g. from dask-gateway) makes `grade` use that cluster."""
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="regenerate release/ with nbgrader")
    p.add_argument("--assignment", "-a", action="append")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("demo", help="autograde sample submissions and print the grade table")
    p.add_argument("--assignment", "-a", action="append")
    p.add_argument("--out", default="build/demo")
    p.add_argument("--workers", "-j", type=int, default=None, help="submissions graded at once (default: cores)")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("student-build", help="build the student wheel of course_lib")
    p.add_argument("--out", default="dist")
    p.set_defaults(func=cmd_student_build)
    p = sub.add_parser("collect", help="LMS download -> submitted/<student>/<assignment>/")
    p.add_argument("download", help="a .zip or a folder of files named <student>_..._<notebook>.ipynb")
    p.add_argument("--assignment", "-a", required=True)
    p.add_argument("--course", default=".")
    p.add_argument("--pattern", help="regex with groups 'student' and 'name' for the file names")
    p.set_defaults(func=cmd_collect)
    p = sub.add_parser("grade", help="grade all submissions of an assignment in parallel")
    p.add_argument("--assignment", "-a", required=True)
    p.add_argument("--course", default=".")
    p.add_argument("--workers", "-j", type=int, default=None, help="parallel graders (default: CPU count)")
    p.add_argument("--out", help="output folder (default: grades/<assignment>)")
    p.add_argument("--full", action="store_true", help="grade without fast mode")
    p.add_argument("--isolation", choices=("bubblewrap", "uid", "none"), help="default: the strongest available")
    p.add_argument("--only", action="append", help="grade only this item (repeatable; the gradebook is left alone)")
    p.add_argument("--no-gradebook", action="store_true", help="do not write nbgrader's gradebook and autograded/")
    p.add_argument("--scheduler", metavar="ADDRESS",
                   help="grade on this Dask cluster (tcp://host:8786, or a scheduler file *.json); -j is then unused")
    p.add_argument("--no-progress", action="store_true", help="no progress bar (default: shown on a terminal)")
    p.set_defaults(func=cmd_grade)
    p = sub.add_parser("run", help="grade one submission and write results.json")
    p.add_argument("submission", help="a notebook, or a folder of notebooks")
    p.add_argument("--assignment", "-a", required=True)
    p.add_argument("--course", default=str(pipeline.REPO_ROOT))
    p.add_argument("--student", default="submission")
    p.add_argument("--results", help="where to write results.json")
    p.add_argument("--full", action="store_true", help="grade without fast mode")
    p.set_defaults(func=cmd_run)
    p = sub.add_parser("judge", help="grade one notebook with the hidden checks -> JSON")
    p.add_argument("submission", help="the submitted notebook")
    p.add_argument("--source", required=True, help="its source notebook")
    p.add_argument("--assignment", "-a", required=True)
    p.add_argument("--course", default=str(pipeline.REPO_ROOT), help="course folder (hidden from the worker)")
    p.add_argument("--out", help="write the JSON result here (default: stdout)")
    p.add_argument("--isolation", choices=("bubblewrap", "uid", "none"), help="default: the strongest available")
    p.add_argument("--no-probe", action="store_true", help="trust --isolation without probing it")
    p.add_argument("--full", action="store_true", help="grade without fast mode")
    p.add_argument("--cell-budget", type=float, default=120)
    p.add_argument("--notebook-budget", type=float, default=900)
    p.add_argument("--memory-mb", type=int, default=6000)
    p.add_argument("--only", action="append", help="grade only this item (repeatable)")
    p.set_defaults(func=cmd_judge)
    p = sub.add_parser("gradescope", help="build the Gradescope autograder zip")
    p.add_argument("--assignment", "-a", required=True)
    p.add_argument("--course", default=str(pipeline.REPO_ROOT))
    p.add_argument("--out")
    p.set_defaults(func=cmd_gradescope)
    p = sub.add_parser("solutions", help="notebooks with the reference code inlined, executed")
    p.add_argument("--assignment", "-a", action="append")
    p.add_argument("--out", default="build/solutions")
    p.add_argument("--full", action="store_true", help="execute in full mode (what you publish)")
    p.add_argument("--no-execute", action="store_true")
    p.set_defaults(func=cmd_solutions)
    args = parser.parse_args(argv)
    if client is not None and args.func is not cmd_grade:
        parser.error(f"a Dask client is used by `grade` only, not by `{args.command}`")
    from .cluster import ClusterError
    try:
        return args.func(args, client=client) if client is not None else args.func(args)
    except (pipeline.PipelineError, ClusterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
