"""Hostile submissions against the trusted runner: each earns what its real work earns, nobody else is touched.

One batch grades every attack of autograder/mutants/attacks.py next to two honest classmates,
in the real sandbox. Then: every honest-attack scores exactly like the plain wrong answer
(self-defeating ones no more than it), classmates get full marks, no process of the batch
survives, no file of the course or the data changed, no temporary folder is left, and no
line of the hidden checks or the reference appears in any output a student or TA receives.
"""
from __future__ import annotations

import hashlib
import json
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
from autograder.mutants.attacks import HONEST, SELF_DEFEATING, WRONG
from leak_scan import leaks_in_text, secret_lines

pytestmark = pytest.mark.slow
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


@pytest.fixture(scope="module")
def batch():
    require_sandbox()
    listener = _Listener()
    subs = {"classmate-1": _with_classmate_mark(_notebook(None)), "classmate-2": _with_classmate_mark(_notebook(None)),
            "wrong": _notebook(WRONG)}
    for name, code in {**HONEST, **SELF_DEFEATING}.items():
        subs[f"attack-{name}"] = _notebook(WRONG + code.replace("ATTACK_PORT", str(listener.port)))
    for kind in ("deletes_test_cells", "edits_test_cells"):
        subs[f"attack-{kind}"] = _structural(kind)
    return {**_grade(subs, "bubblewrap", UIDS, "jund"), "listener": listener}


def _score(result) -> float:
    return sum(c["score"] for c in result.cells)


def test_classmates_get_full_marks(batch):
    for name in ("classmate-1", "classmate-2"):
        r = batch["results"][name]
        assert r.status == "graded" and _score(r) == 5, (name, r.status, r.reason, r.cells)
        assert r.isolation == "bubblewrap"


def test_the_plain_wrong_answer_earns_its_points(batch):
    r = batch["results"]["wrong"]
    assert _score(r) == WRONG_SCORE, r.cells


@pytest.mark.parametrize("name", sorted(HONEST) + ["deletes_test_cells", "edits_test_cells"])
def test_attack_earns_exactly_its_real_work(batch, name):
    r = batch["results"][f"attack-{name}"]
    assert _score(r) == WRONG_SCORE, (r.status, r.reason, [c["output"] for c in r.cells], r.notes)
    assert r.status == "graded", (r.status, r.reason)


@pytest.mark.parametrize("name", sorted(SELF_DEFEATING))
def test_self_defeating_attack_earns_no_more(batch, name):
    r = batch["results"][f"attack-{name}"]
    assert _score(r) <= WRONG_SCORE, [c["output"] for c in r.cells]
    assert r.status != "grader-error", r.grader_errors[:1]


def test_no_process_survives_the_batch(batch):
    assert _slot_processes(batch["uids"]) == []


def test_no_course_file_data_file_or_cache_changed(batch):
    after = _fingerprint(*batch["protected"])
    changed = sorted(k for k in set(after) | set(batch["before"]) if after.get(k) != batch["before"].get(k))
    assert changed == []
    assert _planted_pyc(*batch["protected"][:3]) == []


def _stat(path: str):
    try:
        st = os.stat(path)
        return st.st_mtime_ns, st.st_size
    except OSError:
        return None


def test_nothing_was_written_outside_and_temporary_folders_are_gone(batch):
    assert {p: _stat(p) for p in OUTSIDE} == batch["outside"]
    assert sorted(os.listdir(batch["tmp"])) == []


def test_the_network_attack_reached_nothing(batch):
    assert batch["listener"].received == []


def test_no_hidden_line_in_any_output(batch):
    secrets = secret_lines()
    outputs = [p for p in batch["out"].rglob("*") if p.is_file() and p.name != "grader-errors.log"]
    assert any(p.name == "grades.csv" for p in outputs) and len(outputs) > 2 * len(batch["results"])
    for path in outputs:
        text = path.read_text(errors="replace")
        assert leaks_in_text(text, secrets) == [], path
        if "attack-" in str(path):
            assert CLASSMATE_MARK not in text, path


def test_results_are_plain_and_bounded(batch):
    for r in batch["results"].values():
        payload = json.dumps(runner.results_json(r))
        assert len(payload) < 100_000, (r.student, len(payload))


# ------------------------------------------------------------------ uid mode (Docker graders: no namespaces)
# The attacks a separate uid must stop on its own; those it accepts (the network, a false `describe`) and
# those the judge stops whatever the isolation (patched builtins, forged frames) are graded above.
UID_MODE_ATTACKS = ("imports_the_reference", "leaks_through_types_and_errors", "reads_and_rewrites_classmates",
                    "forks_a_daemon", "kills_other_processes", "leaves_files_everywhere", "plants_pyc_backdoors",
                    "corrupts_shared_data", "snoops_env_and_proc")
UID_MODE_UIDS = range(64100, 64200)


@pytest.fixture(scope="module")
def uid_batch():
    if os.geteuid() != 0:
        pytest.skip("uid mode needs root")
    subs = {"uid-classmate": _with_classmate_mark(_notebook(None)), "uid-wrong": _notebook(WRONG)}
    for name in UID_MODE_ATTACKS:
        subs[f"uid-attack-{name}"] = _notebook(WRONG + HONEST[name])
    return _grade(subs, "uid", UID_MODE_UIDS, "uid-mode")


def test_uid_mode_classmate_and_wrong_answer_earn_their_points(uid_batch):
    classmate, wrong = uid_batch["results"]["uid-classmate"], uid_batch["results"]["uid-wrong"]
    assert (classmate.status, _score(classmate), classmate.isolation) == ("graded", 5, "uid"), classmate.cells
    assert _score(wrong) == WRONG_SCORE, wrong.cells


@pytest.mark.parametrize("name", UID_MODE_ATTACKS)
def test_uid_mode_attack_earns_exactly_its_real_work(uid_batch, name):
    r = uid_batch["results"][f"uid-attack-{name}"]
    assert (r.status, _score(r)) == ("graded", WRONG_SCORE), (r.reason, [c["output"] for c in r.cells], r.notes)


def test_uid_mode_leaves_nothing_behind(uid_batch):
    assert _slot_processes(uid_batch["uids"]) == []
    after = _fingerprint(*uid_batch["protected"])
    assert sorted(k for k in set(after) | set(uid_batch["before"]) if after.get(k) != uid_batch["before"].get(k)) == []
    assert _planted_pyc(*uid_batch["protected"][:3]) == []
    assert {p: _stat(p) for p in OUTSIDE} == uid_batch["outside"]


def test_uid_mode_outputs_hold_no_hidden_line(uid_batch):
    secrets = secret_lines()
    for path in (p for p in uid_batch["out"].rglob("*") if p.is_file() and p.name != "grader-errors.log"):
        text = path.read_text(errors="replace")
        assert leaks_in_text(text, secrets) == [], path
        assert CLASSMATE_MARK not in text or "uid-classmate" in str(path), path
