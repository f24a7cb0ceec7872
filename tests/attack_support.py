"""What the attack suites share: a course copy, hostile notebooks, one graded batch and what it must not change."""
from __future__ import annotations

import hashlib
import os
import socket
import tempfile
import threading
from functools import lru_cache
from pathlib import Path

import nbformat
import pytest

from autograder import pipeline, runner
from autograder.isolation import choose
from autograder.mutants.attacks import WRONG

ITEMS = ["weighted_accuracy"]                 # the attacked item (the runner grades only it here)
WRONG_SCORE = 0.5                             # forgetting the weights earns 0.5 of 5 (GPU property skipped)
CLASSMATE_MARK = "classmate-marker-7f3a9c"    # a line only the classmates' notebooks contain
REPO = Path(__file__).resolve().parents[1]
OUTSIDE = ("/tmp/attack-file", "/tmp/pickle-ran", "/tmp/results.json", "/tmp/daemon-alive", "/results.json")
UIDS = range(64000, 64100)                    # this batch's worker uids (other tests use others)


def require_sandbox():
    """The attack suite runs in the real sandbox wherever it can (and always as root, as in CI)."""
    mode = choose().mode
    if mode != "bubblewrap":
        if os.geteuid() == 0:
            pytest.fail(f"bubblewrap is not usable here ({choose().reason}); `make sandbox` installs it")
        pytest.skip(f"no sandbox here: {choose().reason}")


@lru_cache(maxsize=None)
def course() -> Path:
    root = pipeline.course_copy(Path(tempfile.mkdtemp(prefix="attacks-")) / "course", assignment_ids=["jund"])
    pipeline.generate_release(root, "jund")
    return root


def _notebook(code: str | None):
    src = nbformat.read(course() / "source" / "jund" / "jund.ipynb", as_version=4)
    rel = nbformat.read(course() / "release" / "jund" / "jund.ipynb", as_version=4)
    return pipeline.fill_solutions(rel, src, {} if code is None else {"weighted_accuracy": code})


def _structural(kind: str):
    nb = _notebook(WRONG)
    if kind == "deletes_test_cells":
        nb.cells = [c for c in nb.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    else:  # edits_test_cells: the test cells claim full marks
        for c in nb.cells:
            if c.metadata.get("nbgrader", {}).get("grade"):
                c.source = "5.0"
    return nb


def _fingerprint(*roots) -> dict:
    """(size, sha256) of every file under the roots: what no submission may change.

    Byte-code caches are left out (other tests' judges may write their own); `_planted_pyc` checks them.
    """
    out = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and ".git" not in path.parts and "__pycache__" not in path.parts:
                out[str(path)] = (path.stat().st_size, hashlib.sha256(path.read_bytes()).hexdigest())
    return out


def _planted_pyc(*roots) -> list:
    """Byte-code files that are not byte code (what the backdoor attack would plant)."""
    import importlib.util
    return [str(p) for root in roots for p in Path(root).rglob("*.pyc")
            if p.read_bytes()[:4] != importlib.util.MAGIC_NUMBER]


def _slot_processes(uids: range) -> list:
    """Processes owned by a batch's worker uids (there must be none after it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                uid = os.stat(f"/proc/{entry}").st_uid
            except OSError:
                continue
            if uid in uids:
                found.append((entry, uid))
    return found


class _Listener:
    """A TCP server on loopback: the network attack must not reach it."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port, self.received = self.sock.getsockname()[1], []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.received.append(conn.recv(100))


def _grade(subs: dict, isolation: str, uids: range, out_name: str) -> dict:
    """Grade `subs` ({student: notebook}) in one parallel batch; what the tests below compare before and after."""
    from course_lib.config import data_root

    files = {}
    for student, nb in subs.items():
        path = course() / "submitted" / student / "jund" / "jund.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, path)
        files[student] = {"jund.ipynb": path}
    # warm up (the judge's own caches), then fingerprint what must not change
    runner.grade_batch({"wrong": {"jund.ipynb": _write_wrong()}}, "jund", workers=1, course_root=course(),
                       items=ITEMS, isolation=isolation)
    protected = (REPO / "autograder", REPO / "course_lib", REPO / "gradeworker", course() / "source",
                 course() / "submitted", data_root() / "jund")
    before = _fingerprint(*protected)
    outside = {p: _stat(p) for p in OUTSIDE}
    tmp = Path(tempfile.mkdtemp(prefix="attack-batch-tmp-"))   # every temporary folder of the batch goes here
    saved = {k: os.environ.get(k) for k in ("TMPDIR", "AUTOGRADER_UIDS")}
    os.environ.update(TMPDIR=str(tmp), AUTOGRADER_UIDS=f"{uids.start}-{uids.stop - 1}")
    try:
        results = runner.grade_batch(files, "jund", workers=2, course_root=course(), items=ITEMS,
                                     isolation=isolation)
    finally:
        for k, v in saved.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
    out = course() / "grades" / out_name
    runner.write_outputs(results, out)
    return {"results": {r.student: r for r in results}, "out": out, "before": before, "protected": protected,
            "tmp": tmp, "outside": outside, "uids": uids}


def _write_wrong() -> Path:
    path = course() / "submitted" / "wrong" / "jund" / "jund.ipynb"
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(_notebook(WRONG), path)
    return path


def _with_classmate_mark(nb):
    for c in nb.cells:
        if c.metadata.get("nbgrader", {}).get("grade_id") == "weighted_accuracy":
            c.source = f"# {CLASSMATE_MARK}\n" + c.source
    return nb


def _score(result) -> float:
    return sum(c["score"] for c in result.cells)


def _stat(path: str):
    try:
        st = os.stat(path)
        return st.st_mtime_ns, st.st_size
    except OSError:
        return None


