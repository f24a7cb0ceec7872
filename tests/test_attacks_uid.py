"""The attacks a separate uid must stop on its own, graded in `uid` mode (Docker graders: no namespaces).

Those uid mode accepts (the network, a false `describe`) and those the judge stops whatever the
isolation (patched builtins, forged frames) are graded in the sandbox by test_attacks.py.
"""
from __future__ import annotations

import os

import pytest

from attack_support import (CLASSMATE_MARK, OUTSIDE, WRONG_SCORE, _fingerprint, _grade, _notebook, _planted_pyc,
                            _score, _slot_processes, _stat, _with_classmate_mark)
from autograder.mutants.attacks import HONEST, WRONG
from leak_scan import leaks_in_text, secret_lines

pytestmark = pytest.mark.slow
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
