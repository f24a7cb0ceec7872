"""Grade a batch on a Dask cluster: one task per submission, results gathered here.

`grade_batch(client, ...)` has `runner.grade_batch`'s contract. Each task carries the bytes of the
student's notebooks and of the assignment's source notebooks (workers need not share a
filesystem) and runs `runner.grade_submission` on the worker, in a private temporary course
folder inside the Dask worker's own directory: the same judge and sandboxed worker as a local
run, so student code runs only in the sandbox the judge starts, never in the Dask worker (which
is trusted course code). Each Dask worker process prepares the assignment's data once. Results
come back as plain dicts.

Workers must run the same course code as this client: `code_digest()` (autograder/, course_lib/,
gradeworker/, the hidden checks among them) is compared before the batch and again in every task.
A worker lost mid-task is the scheduler's to handle: its tasks run again elsewhere, up to
`distributed.scheduler.allowed-failures` times; a task that still fails (e.g. `KilledWorker`)
becomes that student's `grader-error` row, with the reason in grader-errors.log, and the batch goes on.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import tempfile
import threading
import uuid
from pathlib import Path

from .pipeline import REPO_ROOT, source_notebooks

PACKAGES = ("autograder", "course_lib", "gradeworker")
SKIPPED = ("__pycache__", ".ipynb_checkpoints")
RETRIES = 1                  # reruns of a task that raised (a lost worker is counted by the scheduler instead)
WAIT_FOR_WORKERS_S = 600     # a scaling cluster (dask-gateway, a batch queue) may start its first worker late


class ClusterError(RuntimeError):
    """The cluster cannot grade this batch (e.g. a worker runs other course code)."""


class CourseCodeMismatch(ClusterError):
    """A Dask worker's course code differs from the client's."""


def code_digest() -> str:
    """sha256 of every file of the course packages (autograder incl. its checks, course_lib, gradeworker),
    by path relative to the package, wherever they are installed."""
    import importlib

    digest = hashlib.sha256()
    for name in PACKAGES:
        root = Path(importlib.import_module(name).__file__).resolve().parent
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root)
            if any(part in SKIPPED for part in rel.parts) or path.suffix == ".pyc":
                continue
            digest.update(f"{name}/{rel.as_posix()}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def connect(address: str):
    """A `distributed.Client` for a scheduler address (tcp://host:8786) or a scheduler file (*.json)."""
    try:
        from distributed import Client
    except ImportError as exc:
        raise ClusterError("--scheduler needs dask.distributed: pip install 'course_lib[instructor]'") from exc
    if address.endswith(".json"):
        return Client(scheduler_file=address)
    return Client(address)


def check_workers(client, digest: str | None = None, wait_s: float = WAIT_FOR_WORKERS_S) -> int:
    """Number of workers (waiting up to `wait_s` for the first to join); CourseCodeMismatch naming
    every worker whose course code is not this client's."""
    digest = digest or code_digest()
    try:
        client.wait_for_workers(1, timeout=wait_s)
    except (TimeoutError, asyncio.TimeoutError) as exc:     # the same class from Python 3.11 on
        raise ClusterError(f"no Dask worker joined the scheduler {client.scheduler.address} in {wait_s:g} s") from exc
    theirs = client.run(code_digest)
    wrong = sorted(addr for addr, d in theirs.items() if d != digest)
    if wrong:
        raise CourseCodeMismatch(
            f"{len(wrong)} of {len(theirs)} Dask workers run other course code than this client "
            f"(code digest {digest[:12]}; theirs: {', '.join(f'{a} {theirs[a][:12]}' for a in wrong)}): "
            "install the same course version (autograder/, course_lib/, checks) on every worker")
    return len(theirs)


def grade_batch(client, submissions: dict, assignment: str, course_root=REPO_ROOT, on_result=None,
                retries: int = RETRIES, **kw) -> list:
    """Grade {student: {notebook name: path}} on the cluster behind `client`; SubmissionResults by student.

    `on_result` is called here with each result as it arrives; `kw` goes to `runner.grade_submission`
    (fast, isolation, items, budgets). `isolation=None` lets each worker use the strongest it has.
    """
    from distributed import as_completed

    from .runner import SubmissionResult

    digest = code_digest()
    check_workers(client, digest)
    sources = {p.name: p.read_bytes() for p in source_notebooks(course_root, assignment)}
    if not sources:
        raise ClusterError(f"no source notebooks in {Path(course_root) / 'source' / assignment}")
    futures = {}
    for student, files in sorted(submissions.items()):
        notebooks = {name: Path(path).read_bytes() for name, path in files.items()}
        future = client.submit(grade_on_worker, student, notebooks, sources, assignment, digest, kw,
                               key=f"grade-{assignment}-{student}-{uuid.uuid4().hex[:12]}", pure=False, retries=retries)
        futures[future] = student
    done = {}
    try:
        for future in as_completed(futures):
            student = futures[future]
            try:
                result = SubmissionResult(**future.result())
            except CourseCodeMismatch:
                raise
            except Exception as exc:      # KilledWorker, a lost connection, a bug in grading itself
                result = failed_result(student, assignment, sources, exc, kw.get("items"))
            done[student] = result
            if on_result is not None:
                on_result(result)
    finally:
        client.cancel(list(futures))
    return [done[s] for s in sorted(done)]


def failed_result(student: str, assignment: str, sources: dict, exc: BaseException, items=None):
    """The row of a submission whose task failed for good: zero, `grader-error`, the reason in the log."""
    import nbformat

    from .judge import zero_cells
    from .outcomes import GRADER_ERROR
    from .runner import SubmissionResult, manual_entries

    cells, manual = [], []
    for data in sources.values():
        source_nb = nbformat.reads(data.decode(), as_version=4)
        cells += zero_cells(source_nb, GRADER_ERROR, items)
        manual += manual_entries(source_nb)
    return SubmissionResult(student, assignment, status="grader-error", reason=GRADER_ERROR, cells=cells,
                            manual=manual,
                            grader_errors=[f"the Dask task grading {student} failed: {type(exc).__name__}: {exc}"])


# ------------------------------------------------------------------------------ on the Dask worker
_prepared: set = set()
_prepare_lock = threading.Lock()


def _prepare_once(paths: list, fast: bool) -> None:
    """judge.prepare_data for these source notebooks, once per worker process (keyed by their content)."""
    from .judge import prepare_data

    key = (fast, tuple(hashlib.sha256(p.read_bytes()).hexdigest() for p in paths))
    with _prepare_lock:
        if key not in _prepared:
            for path in paths:
                prepare_data(path, fast=fast)
            _prepared.add(key)


def grade_on_worker(student: str, notebooks: dict, sources: dict, assignment: str, digest: str, kw: dict) -> dict:
    """The task: write the notebooks to a private folder, grade them as `runner.grade_submission` does, return a dict."""
    from .runner import grade_submission

    mine = code_digest()
    if mine != digest:
        raise CourseCodeMismatch(f"this Dask worker's course code (digest {mine[:12]}) is not the client's "
                                 f"({digest[:12]}): install the same course version on every worker")
    with tempfile.TemporaryDirectory(prefix=f"grade-{assignment}-", dir=_worker_directory()) as tmp:
        course = Path(tmp) / "course"
        (course / "source" / assignment).mkdir(parents=True)
        for name, data in sources.items():
            (course / "source" / assignment / _notebook_name(name)).write_bytes(data)
        _prepare_once(source_notebooks(course, assignment), kw.get("fast", True))
        (Path(tmp) / "submitted").mkdir()
        files = {}
        for name, data in notebooks.items():
            path = Path(tmp) / "submitted" / _notebook_name(name)
            path.write_bytes(data)
            files[name] = path
        result = grade_submission(student, files, assignment, course_root=course, **kw)
    return dataclasses.asdict(result)


def _worker_directory() -> str | None:
    """The Dask worker's own folder (Dask removes it when a new worker finds its worker dead), else the temp dir."""
    try:
        from distributed import get_worker
        return get_worker().local_directory
    except (ImportError, ValueError):
        return None


def _notebook_name(name: str) -> str:
    base = Path(name).name
    if base != name or not base.endswith(".ipynb"):
        raise ValueError(f"notebook name {name!r}: expected a plain file name ending in .ipynb")
    return base
