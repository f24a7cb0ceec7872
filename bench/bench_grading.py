"""Grading speed and exactness, with the standalone runner (fast mode), on this machine.

0. Where one JUND submission's time goes (judge start-up, worker start, each item's checks), with
   judges forked from the warm server and started as plain interpreters, side by side.
1. Seconds to grade one submission (the reference) of each assignment.
2. A batch of synthetic JUND submissions (random mixes of correct and mutant answers) graded
   serially and with N workers: wall time ratio, and whether the scores are identical.
3. How many mutant and attack submissions end with exactly their expected score.
4. The trusted runner against `nbgrader autograde` on the same batch of JUND submissions, one
   submission at a time each: seconds per submission and the ratio, measured side by side.
5. (--class N) A class of N JUND submissions (every mutant, blanks, broken files, mixes) graded with
   all cores: minutes in all, seconds per submission, and nbgrader on a sample of 10 of them.

Usage: python bench/bench_grading.py [--batch 50] [--workers N] [--skip-exact] [--versus-nbgrader 20]
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the expected losses are written down in the tests

from autograder import pipeline, runner  # noqa: E402
from autograder.grade_cells import item_points  # noqa: E402
from autograder.mutants.attacks import HONEST, SELF_DEFEATING, WRONG  # noqa: E402


def _course(assignments) -> Path:
    course = pipeline.course_copy(Path(tempfile.mkdtemp(prefix="bench-grading-")) / "course", assignment_ids=assignments)
    for a in assignments:
        pipeline.generate_release(course, a)
    return course


def _write(course: Path, assignment: str, student: str, replacements) -> dict:
    files = {}
    for src in pipeline.source_notebooks(course, assignment):
        rel = nbformat.read(course / "release" / assignment / src.name, as_version=4)
        nb = pipeline.fill_solutions(rel, nbformat.read(src, as_version=4), replacements)
        path = course / "submitted" / student / assignment / src.name
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        files[src.name] = path
    return files


def profile(course: Path, n: int) -> None:
    """Where one JUND submission's time goes, with judges forked from the warm server and started plain,
    alternating on the same honest submission (medians of n each)."""
    import statistics

    from autograder.judge import prepare_data

    files = _write(course, "jund", "profile", {})
    for source in pipeline.source_notebooks(course, "jund"):     # the data, as grade_batch makes it first
        prepare_data(source)
    runner.grade_submission("profile", files, "jund", course_root=course)     # warm the caches and the server
    rows = {"warm": [], "plain": []}
    for _ in range(n):
        for how in rows:
            os.environ["AUTOGRADER_JUDGE"] = "subprocess" if how == "plain" else "server"
            r = runner.grade_submission("profile", files, "jund", course_root=course)
            t = r.timings[0]
            rows[how].append({"total": r.seconds, "judge start-up": t["judge_process_s"] - t["judge_s"],
                              "worker start (notebook cells)": t["worker_start_s"], "checks": t["checks_s"],
                              **{f"  {k}": v for k, v in sorted(t["items_s"].items())}})
    os.environ.pop("AUTOGRADER_JUDGE")
    print(f"\n[0] where one jund submission's time goes (honest, fast mode, 1 worker; median of {n})")
    print(f"{'phase':<32} {'warm judge s':>13} {'plain judge s':>14}")
    for key in rows["warm"][0]:
        med = {how: statistics.median(x[key] for x in rows[how]) for how in rows}
        print(f"{key:<32} {med['warm']:>13.2f} {med['plain']:>14.2f}")


def per_assignment(course: Path) -> None:
    print("\n[1] seconds to grade the reference submission (fast mode, 1 worker)")
    print(f"{'assignment':<16} {'seconds':>8} {'score':>12}")
    for a in pipeline.assignments(course):
        files = _write(course, a, "reference", {})
        t = time.perf_counter()
        r = runner.grade_submission("reference", files, a, course_root=course)
        print(f"{a:<16} {time.perf_counter() - t:>8.1f} {f'{r.total:g}/{r.max_total:g}':>12}")


def mixed_jund_batch(course: Path, n: int, prefix: str = "s") -> dict:
    """n synthetic JUND submissions: random mixes of correct and mutant answers (seeded)."""
    mutants = pipeline.load_mutants("jund")
    rng = random.Random(0)
    subs = {}
    for i in range(n):
        chosen = {}
        for name in rng.sample(sorted(mutants), rng.randint(0, 3)):
            for cell, code in mutants[name].items():
                chosen.setdefault(cell, code)
        subs[f"{prefix}{i:03d}"] = _write(course, "jund", f"{prefix}{i:03d}", chosen)
    return subs


def batch(course: Path, n: int, workers: int) -> None:
    subs = mixed_jund_batch(course, n)
    t = time.perf_counter()
    serial = runner.grade_batch(subs, "jund", workers=1, course_root=course)
    t_serial = time.perf_counter() - t
    t = time.perf_counter()
    parallel = runner.grade_batch(subs, "jund", workers=workers, course_root=course)
    t_parallel = time.perf_counter() - t
    same = [r.cells for r in serial] == [r.cells for r in parallel]
    print(f"\n[2] batch of {n} synthetic jund submissions (random mixes of correct and mutant answers)")
    print(f"{'graders':<10} {'wall s':>8} {'s/submission':>13}")
    print(f"{'1':<10} {t_serial:>8.0f} {t_serial / n:>13.1f}")
    print(f"{workers:<10} {t_parallel:>8.0f} {t_parallel / n:>13.1f}")
    print(f"speed-up {t_serial / t_parallel:.2f}x with {workers} workers; identical scores: {same}")


def exactness(course: Path, workers: int) -> None:
    import importlib

    rows = []
    for a in pipeline.assignments(course):
        try:
            expected = importlib.import_module(f"test_grading_{a}").EXPECTED_LOSS
        except (ImportError, AttributeError):
            continue
        maxima = pipeline.max_points(course, a)
        subs = {f"mutant-{m}": _write(course, a, f"mutant-{m}", code) for m, code in pipeline.load_mutants(a).items()}
        for r in runner.grade_batch(subs, a, workers=workers, course_root=course):
            losses = expected[r.student.removeprefix("mutant-")]
            got = {c["grade_id"]: c["score"] for c in r.cells}
            rows.append((a, r.student, all(abs(got[k] - (v - losses.get(k, 0))) < 1e-6 for k, v in maxima.items())))
    from test_grading_jund import EXPECTED_LOSS as jund_expected

    jund_points = item_points("jund")      # the checks' rubric markers, not a hard-coded total
    jund_total = sum(jund_points.values())
    want_wacc = jund_points["weighted_accuracy"] - jund_expected["unweighted_accuracy"]["test_weighted_accuracy"]
    subs = {f"attack-{k}": _write(course, "jund", f"attack-{k}", {"weighted_accuracy": WRONG + v.replace("ATTACK_PORT", "9")})
            for k, v in HONEST.items()}
    honest_total = jund_total - jund_points["weighted_accuracy"] + want_wacc
    for r in runner.grade_batch(subs, "jund", workers=workers, course_root=course):
        got = {c["name"]: c["score"] for c in r.cells}
        rows.append(("jund", r.student, got["weighted_accuracy"] == want_wacc and r.total == honest_total))
    # attacks that wreck their own worker may lose their other answers too, but never gain
    wrecked = {f"self-{k}": _write(course, "jund", f"self-{k}", {"weighted_accuracy": WRONG + v})
               for k, v in SELF_DEFEATING.items()}
    no_gain = [(r.student, r.total <= honest_total and r.status != "grader-error")
               for r in runner.grade_batch(wrecked, "jund", workers=workers, course_root=course)]
    print("\n[3] exact expected scores (trusted runner)")
    for a in sorted({r[0] for r in rows}):
        mine = [r for r in rows if r[0] == a]
        bad = [r[1] for r in mine if not r[2]]
        print(f"{a:<16} {sum(r[2] for r in mine):>3} of {len(mine):<3} exact" + (f"   NOT exact: {bad}" if bad else ""))
    print(f"{'all':<16} {sum(r[2] for r in rows):>3} of {len(rows):<3} exact")
    bad = [s for s, ok in no_gain if not ok]
    print(f"{'self-defeating':<16} {len(no_gain) - len(bad):>3} of {len(no_gain):<3} earn no more than their "
          f"honest answers" + (f"   MORE: {bad}" if bad else ""))


def _score_differences(ours: dict, theirs: dict) -> dict:
    """{grade_id: (runner, nbgrader)} where the two disagree on an autograded cell. The written answers are
    left out: TAs mark them in formgrader, so nbgrader lists them unmarked (0) and the runner not at all."""
    return {k: (v, theirs.get(k)) for k, v in ours.items() if theirs.get(k) != v}


def class_of(course: Path, n: int) -> dict:
    """n JUND submissions as a class hands them in: every mutant once, two blank notebooks, three broken
    files (not JSON, empty, another assignment's notebook), the rest random mixes of right and wrong answers."""
    mutants = sorted(pipeline.load_mutants("jund"))
    subs, names = {}, [f"c{i:03d}" for i in range(n)]
    broken = {names[-1]: b"{not json", names[-2]: b"",
              names[-3]: (course / "release" / "rnacompete" / "rnacompete.ipynb").read_bytes()}
    for i, student in enumerate(names):
        if student in broken:
            path = course / "submitted" / student / "jund" / "jund.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(broken[student])
            subs[student] = {"jund.ipynb": path}
        elif i < len(mutants):
            subs[student] = _write(course, "jund", student, pipeline.load_mutants("jund")[mutants[i]])
        elif i < len(mutants) + 2:
            subs[student] = _write(course, "jund", student, None)
    rest = [s for s in names if s not in subs]
    subs.update(mixed_jund_batch(course, len(rest), prefix="m"))
    return subs


def class_batch(course: Path, n: int, workers: int, sample: int = 10) -> None:
    """A class of n submissions graded with all cores, then a sample of them through nbgrader, one run."""
    from collections import Counter

    subs = class_of(course, n)
    t = time.perf_counter()
    results = runner.grade_batch(subs, "jund", workers=workers, course_root=course)
    wall = time.perf_counter() - t
    import statistics
    statuses = Counter(r.status for r in results)
    cores = os.cpu_count() or 1
    graded = [r.seconds for r in results if r.status == "graded"] or [0.0]
    print(f"\n[5] a class of {n} jund submissions, {workers} workers on {cores} cores: {wall / 60:.1f} min, "
          f"{wall / n:.2f} s per submission (wall), {wall * cores / n:.2f} core-seconds per submission; "
          f"median {statistics.median(graded):.2f} s per graded submission ({workers} side by side); "
          f"statuses {dict(statuses)}", flush=True)
    picked = [r.student for r in results if r.status == "graded"][:sample]
    for student in picked:     # the same notebooks under other ids, for nbgrader
        src = subs[student]["jund.ipynb"]
        dest = course / "submitted" / f"nbs-{student}" / "jund" / "jund.ipynb"
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(src.read_bytes())
    t = time.perf_counter()
    pipeline.autograde(course, "jund", students=["nbs-*"])
    t_nb = (time.perf_counter() - t) / len(picked)
    theirs = pipeline.grades(course, "jund")
    ours = {r.student: {c["grade_id"]: c["score"] for c in r.cells} for r in results}
    differ = {s: d for s in picked if (d := _score_differences(ours[s], theirs.get(f"nbs-{s}", {})))}
    same = not differ
    for s, d in differ.items():
        print(f"  {s}: runner vs nbgrader differ on {d}")
    print(f"nbgrader autograde on {len(picked)} of them (one at a time, as it runs): {t_nb:.1f} s per submission; "
          f"the runner is {t_nb / (wall / n):.1f}x faster per submission; identical scores: {same}")
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


def versus_nbgrader(course: Path, n: int) -> None:
    """The same n JUND submissions graded by the trusted runner and by nbgrader autograde, serially."""
    subs = mixed_jund_batch(course, n, prefix="v")
    t = time.perf_counter()
    ours = runner.grade_batch(subs, "jund", workers=1, course_root=course)
    t_ours = time.perf_counter() - t
    print(f"\n[4] trusted runner, {n} jund submissions one at a time: {t_ours:.0f} s", flush=True)
    t = time.perf_counter()
    pipeline.autograde(course, "jund", students=["v*"])     # one nbgrader run, as a TA would start it
    t_nbgrader = time.perf_counter() - t
    theirs = pipeline.grades(course, "jund")
    same = not any(_score_differences({c["grade_id"]: c["score"] for c in r.cells}, theirs.get(r.student, {}))
                   for r in ours)
    print(f"\n[4] the same {n} jund submissions, one at a time: trusted runner vs nbgrader autograde")
    print(f"{'grader':<28} {'wall s':>8} {'s/submission':>13}")
    print(f"{'trusted runner (' + ours[0].isolation + ')':<28} {t_ours:>8.0f} {t_ours / n:>13.1f}")
    print(f"{'nbgrader autograde':<28} {t_nbgrader:>8.0f} {t_nbgrader / n:>13.1f}")
    print(f"runner / nbgrader time: {t_ours / t_nbgrader:.2f} (nbgrader takes {t_nbgrader / t_ours:.2f}x as long); "
          f"identical scores: {same}")
    print("load average (1, 5, 15 min) at the end: " + ", ".join(f"{x:.1f}" for x in os.getloadavg()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch", type=int, default=50)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--skip-exact", action="store_true")
    parser.add_argument("--skip-per-assignment", action="store_true")
    parser.add_argument("--class", dest="class_size", type=int, default=0, metavar="N",
                        help="grade a class of N jund submissions with all cores, nbgrader on a sample of 10 (0: skip)")
    parser.add_argument("--profile", type=int, default=3, metavar="N",
                        help="repetitions of the per-phase profile, warm vs plain judges (0: skip)")
    parser.add_argument("--versus-nbgrader", type=int, default=20, metavar="N",
                        help="submissions for the runner-vs-nbgrader comparison (0: skip)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; device: "
          f"{'cuda' if runner._has_cuda() else 'cpu'}; fast mode; data: synthetic defaults; load average "
          + ", ".join(f"{x:.1f}" for x in os.getloadavg()))
    course = _course(pipeline.assignments())
    if args.profile:
        profile(course, args.profile)
    if not args.skip_per_assignment:
        per_assignment(course)
    if args.batch:
        batch(course, args.batch, args.workers)
    if not args.skip_exact:
        exactness(course, args.workers)
    if args.versus_nbgrader:
        versus_nbgrader(course, args.versus_nbgrader)
    if args.class_size:
        class_batch(course, args.class_size, args.workers)


if __name__ == "__main__":
    main()
