"""Hostile submissions against the trusted runner: each earns what its real work earns, nobody else is touched.

One batch grades every attack of autograder/mutants/attacks.py next to two honest classmates,
in the real sandbox. Then: every honest-attack scores exactly like the plain wrong answer
(self-defeating ones no more than it), classmates get full marks, no process of the batch
survives, no file of the course or the data changed, no temporary folder is left, and no
line of the hidden checks or the reference appears in any output a student or TA receives.
"""
from __future__ import annotations

import json
import os

import pytest

from attack_support import (CLASSMATE_MARK, OUTSIDE, UIDS, WRONG_SCORE, _fingerprint, _grade, _Listener,
                            _notebook, _planted_pyc, _score, _slot_processes, _stat, _structural,
                            _with_classmate_mark, require_sandbox)
from autograder import runner, template
from autograder.mutants.attacks import HONEST, SELF_DEFEATING, WRONG
from leak_scan import leaks_in_text, secret_lines

pytestmark = pytest.mark.slow


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


def test_every_worker_of_the_batch_was_forked_from_the_warm_template(batch):
    """So that every attack above ran against the template's walls (where templates are used)."""
    if not template.wanted("bubblewrap"):
        pytest.skip("worker templates are not used here (a GPU machine, or AUTOGRADER_TEMPLATE=0)")
    starts = {s: [(t.get("worker_starts", 0), t.get("workers_forked", 0)) for t in r.timings]
              for s, r in batch["results"].items()}
    assert all(started == forked for runs in starts.values() for started, forked in runs), starts
    assert sum(started for runs in starts.values() for started, _ in runs) >= len(HONEST)


def test_no_process_survives_the_batch(batch):
    assert _slot_processes(batch["uids"]) == []


def test_no_course_file_data_file_or_cache_changed(batch):
    after = _fingerprint(*batch["protected"])
    changed = sorted(k for k in set(after) | set(batch["before"]) if after.get(k) != batch["before"].get(k))
    assert changed == []
    assert _planted_pyc(*batch["protected"][:3]) == []


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
