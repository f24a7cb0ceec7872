"""Judges forked from the warm server behave like plain `python -m autograder judge` processes."""
import os
import time

import pytest

from autograder import judge_server
from autograder.pipeline import grading_env

pytestmark = pytest.mark.skipif(not judge_server.warm_available(), reason="no fork server on this platform")


def test_exit_code_and_stderr_of_a_forked_judge(tmp_path):
    log = tmp_path / "judge.log"
    assert judge_server.run_judge(["judge"], grading_env(), 60, log) == 2       # argparse: arguments missing
    assert "usage" in log.read_text() and "--source" in log.read_text()
    assert judge_server.run_judge(["judge", "--help"], grading_env(), 60, log) == 0


def test_each_judge_runs_with_its_own_requests_environment(tmp_path):
    """argparse wraps its usage message at $COLUMNS: two requests, two widths, one server."""
    lines = {}
    for columns in ("40", "400"):
        log = tmp_path / f"judge-{columns}.log"
        assert judge_server.run_judge(["judge"], dict(grading_env(), COLUMNS=columns), 60, log) == 2
        lines[columns] = len(log.read_text().splitlines())
    assert lines["40"] > lines["400"] + 3, lines


def test_a_judge_past_its_time_is_killed(tmp_path):
    """A judge that runs past its budget: None comes back, and no judge of the server is left running."""
    nb = tmp_path / "x.ipynb"
    nb.write_text("{}")
    server = judge_server._warm_server()
    start = time.monotonic()
    code = server.run(["judge", str(nb), "--source", str(nb), "-a", "jund", "--out", str(tmp_path / "o")],
                      grading_env(), 0.001, tmp_path / "judge.log")
    assert code is None and time.monotonic() - start < 30
    time.sleep(0.5)
    assert [pid for pid in os.listdir("/proc") if pid.isdigit() and _running_judge_of(int(pid), server.proc.pid)] == []


def _running_judge_of(pid: int, parent: int) -> bool:
    """Whether `pid` is a live judge forked by `parent` (the server's other children are worker templates)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            head, tail = fh.read().rsplit(")", 1)
        state, ppid = tail.split()[:2]
        return int(ppid) == parent and state != "Z" and head.endswith("(" + judge_server.JUDGE_NAME)
    except (OSError, ValueError):
        return False


def test_judges_and_their_server_are_named_for_ps(tmp_path):
    server = judge_server._warm_server()
    with open(f"/proc/{server.proc.pid}/comm") as fh:
        assert fh.read().strip() == judge_server.SERVER_NAME
