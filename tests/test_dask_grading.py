"""`grade --scheduler`: a Dask LocalCluster of 2 worker processes on loopback grades as the local runner does,
a worker killed mid-task costs nothing (its task runs again), a task that keeps losing its worker becomes a
grader-error row, and a worker with other course code is refused. Plus the progress counts."""
import contextlib
import io
import os
import signal
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from autograder import cluster, pipeline, runner
from autograder.__main__ import main
from autograder.grade_cells import item_points
from autograder.progress import Progress

MUTANT = "unweighted_accuracy"
STUDENTS = ("reference", "blank", f"mutant-{MUTANT}", "invalid")
ALLOWED_FAILURES = 1          # the scheduler reruns a task whose worker died once; the second death is final


@lru_cache(maxsize=None)
def course() -> Path:
    """A released JUND course with four submissions: reference-like, blank, one mutant, one broken file."""
    root = pipeline.course_copy(Path(tempfile.mkdtemp(prefix="dask-")) / "course", assignment_ids=["jund"])
    pipeline.generate_release(root, "jund")
    src = nbformat.read(root / "source" / "jund" / "jund.ipynb", as_version=4)
    rel = nbformat.read(root / "release" / "jund" / "jund.ipynb", as_version=4)
    fills = {"reference": {}, "blank": None, f"mutant-{MUTANT}": pipeline.load_mutants("jund")[MUTANT]}
    for student in STUDENTS:
        path = root / "submitted" / student / "jund" / "jund.ipynb"
        path.parent.mkdir(parents=True)
        if student == "invalid":
            path.write_bytes(b"{not json")
        else:
            nbformat.write(pipeline.fill_solutions(rel, src, fills[student]), path)
    return root


def files(*students) -> dict:
    return {s: {"jund.ipynb": course() / "submitted" / s / "jund" / "jund.ipynb"} for s in students}


def rows(csv_path: Path) -> dict:
    import csv
    with open(csv_path, newline="") as fh:
        return {r["student"]: r for r in csv.DictReader(fh)}


@pytest.fixture(scope="module")
def _module_cluster():
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": ALLOWED_FAILURES}):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                             dashboard_address=None, memory_limit=0)
    client = Client(local)
    yield local, client
    client.close()
    local.close()


@pytest.fixture
def dask_cluster(_module_cluster):
    """The module's LocalCluster with both workers up (a test before may have killed one: its nanny restarts it)."""
    _module_cluster[1].wait_for_workers(2, timeout=300)
    return _module_cluster


@pytest.fixture(scope="module")
def local_run():
    """The local runner through the CLI (2 workers): its output folder."""
    out = course() / "grades-local"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(["grade", "-a", "jund", "--course", str(course()), "-j", "2", "--out", str(out),
                     "--no-progress", "--no-gradebook"]) == 0
    return SimpleNamespace(out=out, printed=printed.getvalue())


@pytest.mark.slow
def test_cluster_grades_exactly_as_the_local_runner(dask_cluster, local_run, capsys):
    local, _ = dask_cluster
    out = course() / "grades-dask"
    assert main(["grade", "-a", "jund", "--course", str(course()), "--scheduler", local.scheduler_address,
                 "--out", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    here, there = rows(local_run.out / "grades.csv"), rows(out / "grades.csv")
    assert set(there) == set(STUDENTS)
    assert there == here          # every column: status, reason, each item's score, total, device, isolation, notes
    jund_total = sum(item_points("jund").values())     # the checks' rubric markers
    assert float(there["reference"]["total"]) == float(there["reference"]["max_total"]) == jund_total
    assert float(there["blank"]["total"]) == 0 and there["invalid"]["status"] == "invalid"
    assert 0 < float(there[f"mutant-{MUTANT}"]["total"]) < jund_total
    for student in STUDENTS:          # results.json and feedback too (the execution time aside)
        mine, theirs = (json_of(d / student / "results.json") for d in (out, local_run.out))
        assert {**mine, "execution_time": 0} == {**theirs, "execution_time": 0}
        assert (out / student / "feedback.html").read_text() == (local_run.out / student / "feedback.html").read_text()
    assert (out / "grader-errors.log").read_text() == ""
    # the summary lines (local and cluster) count what grades.csv holds
    statuses = Counter(r["status"] for r in there.values())
    assert statuses["invalid"] == 1
    for text in (printed, local_run.printed):
        assert f"{len(STUDENTS)}/{len(STUDENTS)} submissions in " in text
        assert f"{statuses['graded']} graded, 1 invalid, 0 timeout, 0 grader-error" in text
    # and the gradebook got the cluster's scores
    graded = pipeline.grades(course(), "jund")
    assert {s: sum(graded[s].values()) for s in STUDENTS} == {s: float(there[s]["total"]) for s in STUDENTS}


def json_of(path):
    import json
    return json.loads(Path(path).read_text())


# ------------------------------------------------------------------------------ lost workers
def _executing(client, key_part: str):
    """(worker address, worker pid, judge pid) once a task whose key holds `key_part` runs its judge, else None."""
    import psutil

    def running(dask_worker):
        keys = [str(ts.key) for ts in dask_worker.state.executing]
        from autograder.judge_server import JUDGE_NAME
        judges = [p.pid for p in psutil.Process().children(recursive=True)
                  if p.name() == JUDGE_NAME or p.cmdline()[1:4] == ["-m", "autograder", "judge"]]
        return keys, os.getpid(), judges

    try:
        state = client.run(running)
    except Exception:          # a worker is restarting
        return None
    for addr, (keys, pid, judges) in state.items():
        if any(key_part in k for k in keys) and judges:
            return addr, pid, judges[0]
    return None


def _kill_when_running(client, key_part: str, timeout_s: float = 240) -> int:
    """SIGKILL the Dask worker process running that task's judge; return the judge's pid."""
    import psutil

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = _executing(client, key_part)
        if found:
            _, pid, judge = found
            judge_proc = psutil.Process(judge)
            os.kill(pid, signal.SIGKILL)
            gone, _ = psutil.wait_procs([judge_proc], timeout=60)
            assert gone, f"the judge {judge} outlived its killed Dask worker {pid}"
            return judge
        time.sleep(0.5)
    raise AssertionError(f"no task {key_part!r} started its judge within {timeout_s} s")


@pytest.mark.slow
def test_worker_killed_mid_task_is_retried_and_the_batch_finishes(dask_cluster, local_run):
    _, client = dask_cluster
    students = ("reference", f"mutant-{MUTANT}")
    seen = []
    with ThreadPoolExecutor(1) as pool:
        batch = pool.submit(cluster.grade_batch, client, files(*students), "jund", course_root=course(),
                            on_result=seen.append)
        _kill_when_running(client, "grade-jund-reference-")
        results = batch.result(timeout=600)
    want = rows(local_run.out / "grades.csv")
    for r in results:
        assert r.status == want[r.student]["status"] == "graded", r.grader_errors
        assert r.total == float(want[r.student]["total"])
        assert {c["grade_id"]: c["score"] for c in r.cells} == \
               {k: float(want[r.student][k]) for k in (c["grade_id"] for c in r.cells)}
    assert sorted(r.student for r in seen) == sorted(students)


@pytest.mark.slow
def test_task_that_keeps_losing_its_worker_is_a_grader_error_row(dask_cluster, tmp_path):
    _, client = dask_cluster
    student = f"mutant-{MUTANT}"
    with ThreadPoolExecutor(1) as pool:
        batch = pool.submit(cluster.grade_batch, client, files(student), "jund", course_root=course())
        for _ in range(ALLOWED_FAILURES + 1):
            _kill_when_running(client, f"grade-jund-{student}-")
        [result] = batch.result(timeout=600)
    assert result.status == "grader-error" and result.total == 0 and result.max_total == sum(item_points("jund").values())
    runner.write_outputs([result], tmp_path)
    assert rows(tmp_path / "grades.csv")[student]["status"] == "grader-error"
    log = (tmp_path / "grader-errors.log").read_text()
    assert f"=== {student}" in log and "KilledWorker" in log


# ------------------------------------------------------------------------------ course code
@pytest.mark.slow
def test_worker_with_other_course_code_is_refused(dask_cluster, tmp_path, capsys):

    def pretend_other_code(dask_worker, on):
        import autograder.cluster as mod
        if on:
            mod._real_digest, mod.code_digest = mod.code_digest, lambda: "0" * 64
        else:
            mod.code_digest = mod._real_digest
        return True

    local, client = dask_cluster
    one = sorted(client.scheduler_info()["workers"])[0]
    client.run(pretend_other_code, on=True, workers=[one])
    try:
        with pytest.raises(cluster.CourseCodeMismatch, match=rf"1 of 2 Dask workers run other course code.*{one}"):
            cluster.grade_batch(client, files("invalid"), "jund", course_root=course())
        assert main(["grade", "-a", "jund", "--course", str(course()), "--scheduler", local.scheduler_address,
                     "--out", str(tmp_path), "--no-progress"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: 1 of 2 Dask workers run other course code") and "install the same" in err
        assert not (tmp_path / "grades.csv").exists()
    finally:
        client.run(pretend_other_code, on=False, workers=[one])
    # a worker that joins later is caught by the task itself
    task = client.submit(cluster.grade_on_worker, "s", {}, {}, "jund", "f" * 64, {}, pure=False)
    with pytest.raises(cluster.CourseCodeMismatch, match="is not the client's"):
        task.result(timeout=120)


def test_scheduler_without_workers_is_a_clear_error():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=0, processes=True, host="127.0.0.1", dashboard_address=None) as empty, \
            Client(empty) as client:
        with pytest.raises(cluster.ClusterError, match=r"no Dask worker joined the scheduler tcp://127.0.0.1:\d+ in 1 s"):
            cluster.check_workers(client, wait_s=1)


# ------------------------------------------------------------------------------ progress
def test_progress_counts_statuses_and_draws_done_total():
    sink = io.StringIO()
    statuses = ["graded", "invalid", "graded", "timeout", "grader-error", "graded"]
    with Progress(len(statuses), enabled=True, file=sink) as progress:
        for s in statuses:
            progress(SimpleNamespace(status=s))
    assert progress.counts == Counter(statuses) and progress.done == 6
    assert progress.statuses() == "3 graded, 1 invalid, 1 timeout, 1 grader-error"
    assert "6/6" in sink.getvalue() and "1 grader-error" in sink.getvalue()
    assert progress.summary().startswith("6/6 submissions in ")
    quiet = Progress(2, file=io.StringIO())      # not a terminal: no bar, counts all the same
    quiet(SimpleNamespace(status="error"))
    assert quiet.bar.disable and quiet.statuses() == "0 graded, 0 invalid, 0 timeout, 1 error, 0 grader-error"
