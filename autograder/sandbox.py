"""Grade one submission in a clean interpreter (run as `python -m autograder.sandbox JOB RESULT`).

Order matters. Trusted code is imported and snapshotted first; then the notebook's
locked cells (from the source) and the student's answer cells run in an IPython shell,
each under a time budget; then everything the student could have patched is put back —
the reference solutions and hidden checks are reloaded from disk and the comparison
functions of torch/NumPy/math are restored — and only then do the checks run.
"""
from __future__ import annotations

import contextlib
import importlib
import io
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch

PROTECTED = {  # module -> attribute names the checks rely on
    torch: ["allclose", "isclose", "equal", "isfinite", "is_tensor", "manual_seed", "no_grad", "tensor",
            "as_tensor", "randn", "rand", "randint", "zeros", "ones", "cat", "sigmoid", "from_numpy"],
    torch.Tensor: ["__eq__", "__ne__", "allclose", "equal", "item", "cpu", "numpy", "detach", "float", "to",
                   "backward", "sum", "mean", "abs"],
    np: ["allclose", "isclose", "array_equal", "asarray", "array", "isfinite", "abs", "sum", "mean", "all", "any"],
    math: ["isclose", "isfinite"],
}


def snapshot() -> dict:
    return {(owner, name): getattr(owner, name) for owner, names in PROTECTED.items() for name in names}


def restore(saved: dict) -> None:
    for (owner, name), value in saved.items():
        if getattr(owner, name, None) is not value:
            setattr(owner, name, value)


def reload_trusted(modules: list) -> dict:
    """Fresh copies of course_lib.reference.* and autograder.* (student patches to them are dropped)."""
    for name in sorted(list(sys.modules)):
        if name.startswith(("course_lib.reference", "autograder")) and name not in (__name__, "autograder.sandbox"):
            del sys.modules[name]
    return {m: importlib.import_module(f"autograder.{m}") for m in modules}


def limit_memory(megabytes: int) -> None:
    if megabytes > 0:
        limit = megabytes * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def run_cells(cells: list, budget_s: float) -> list:
    """Run (label, code) cells in one IPython shell; return [(label, error or '')]."""
    from IPython.core.interactiveshell import InteractiveShell

    from .core import time_limit, PropertyTimeout

    import matplotlib
    matplotlib.use("Agg")
    shell = InteractiveShell.instance()
    log = []
    for label, code in cells:
        sink = io.StringIO()
        try:
            with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), time_limit(budget_s):
                result = shell.run_cell(code, store_history=False, silent=True)
            err = result.error_in_exec or result.error_before_exec
            if isinstance(err, PropertyTimeout):
                log.append((label, f"cell took longer than {budget_s:g} s"))
            else:
                log.append((label, f"{type(err).__name__}: {str(err)[:200]}" if err else ""))
        except PropertyTimeout:
            log.append((label, f"cell took longer than {budget_s:g} s"))
        except BaseException as exc:  # SystemExit or KeyboardInterrupt from student code
            log.append((label, f"{type(exc).__name__}"))
    return log, shell.user_ns


def main(job_path: str, result_path: str) -> int:
    job = json.loads(open(job_path).read())
    os.unlink(job_path)  # the student's code has no business reading it
    limit_memory(job.get("memory_mb", 0))
    saved = snapshot()
    modules = sorted({g["module"] for g in job["graded"]})
    start = time.perf_counter()
    cell_log, ns = run_cells([tuple(c) for c in job["cells"]], job.get("cell_budget_s", 120))
    restore(saved)
    torch.set_grad_enabled(True)
    checks = reload_trusted(modules)
    from autograder.core import default_device

    results = []
    for g in job["graded"]:
        check = checks[g["module"]].CHECKS[g["name"]]
        if g["name"] in ns:
            report = check(ns[g["name"]])
        else:
            report = check.missing(f"`{g['name']}` is not defined")
        score = min(report.score, g["points"]) if math.isfinite(report.score) else 0.0
        results.append({"grade_id": g["grade_id"], "name": g["name"], "score": score, "max_score": g["points"],
                        "output": report.text()})
    payload = {"cells": results, "cell_log": cell_log, "device": default_device(),
               "seconds": round(time.perf_counter() - start, 2)}
    with open(result_path, "w") as fh:
        json.dump(payload, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
