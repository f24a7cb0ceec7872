"""Command line: `python -m autograder <command>` (run from the repository root).

  release        regenerate release/ from source/ with nbgrader
  demo           release, then autograde sample submissions (reference, blank, mutants) in a
                 scratch course folder and print the grade table
  student-build  build the student wheel of course_lib (no reference, no autograder)
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import pipeline


def cmd_release(args) -> int:
    for a in args.assignment or pipeline.assignments():
        t = time.perf_counter()
        pipeline.generate_release(pipeline.REPO_ROOT, a)
        print(f"release/{a}: generated in {time.perf_counter() - t:.1f} s")
    return 0


def cmd_demo(args) -> int:
    start = time.perf_counter()
    ids = args.assignment or pipeline.assignments()
    course = pipeline.course_copy(Path(args.out), assignment_ids=ids)
    print(f"scratch course folder: {course}")
    for a in ids:
        t = time.perf_counter()
        pipeline.generate_release(course, a)
        subs = pipeline.sample_submissions(a)
        pipeline.write_submissions(course, a, subs)
        pipeline.autograde(course, a)
        feedback = pipeline.generate_feedback(course, a)
        table = pipeline.grades(course, a)
        print(f"\n== {a}: {len(subs)} sample submissions graded in {time.perf_counter() - t:.0f} s")
        print(pipeline.format_table(table, pipeline.max_points(course, a)))
        print(f"feedback: {feedback}/<student>/{a}/*.html")
    print(f"\ndemo finished in {time.perf_counter() - start:.0f} s")
    return 0


def cmd_student_build(args) -> int:
    from .student_build import build_student_wheel

    wheel = build_student_wheel(Path(args.out))
    print(f"student wheel: {wheel}")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="regenerate release/ with nbgrader")
    p.add_argument("--assignment", "-a", action="append")
    p.set_defaults(func=cmd_release)
    p = sub.add_parser("demo", help="autograde sample submissions and print the grade table")
    p.add_argument("--assignment", "-a", action="append")
    p.add_argument("--out", default="build/demo")
    p.set_defaults(func=cmd_demo)
    p = sub.add_parser("student-build", help="build the student wheel of course_lib")
    p.add_argument("--out", default="dist")
    p.set_defaults(func=cmd_student_build)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except pipeline.PipelineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
