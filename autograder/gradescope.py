"""Build a Gradescope autograder zip for one assignment.

Gradescope unpacks the zip to /autograder/source, runs setup.sh once to build the image,
then run_autograder for each submission (notebooks in /autograder/submission); the
score goes to /autograder/results/results.json.
"""
from __future__ import annotations

import tempfile
import zipfile
from pathlib import Path

from .pipeline import REPO_ROOT, source_notebooks
from .student_build import build_grader_wheel

SETUP_SH = """#!/usr/bin/env bash
# Gradescope image set-up: Python packages for grading (CPU build of torch), and bubblewrap, which the
# grader uses when the container allows user namespaces (else it runs the worker as another uid).
set -euo pipefail
cd /autograder/source
apt-get update -qq && apt-get install -y -qq python3 python3-pip python3-venv bubblewrap > /dev/null
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --quiet --upgrade pip
/autograder/venv/bin/pip install --quiet torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install --quiet wheels/*.whl nbformat nbconvert ipython pytest safetensors filelock
chmod -R go-rwx /autograder/source
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Grade one submission; Gradescope reads results/results.json.
set -uo pipefail
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
mkdir -p "$ROOT/results"
export COURSE_FAST="${{COURSE_FAST:-1}}" COURSE_DATA_DIR="${{COURSE_DATA_DIR:-$ROOT/data}}"
cd "$ROOT/source"
"$PY" -m autograder run "$ROOT/submission" --assignment {assignment} --course "$ROOT/source" \\
    --results "$ROOT/results/results.json"
"""


def build_zip(assignment: str, out: Path, course_root=REPO_ROOT) -> Path:
    """dist/gradescope_<assignment>.zip: setup.sh, run_autograder, the grader wheel, the source notebooks."""
    notebooks = source_notebooks(course_root, assignment)
    if not notebooks:
        raise ValueError(f"no source notebooks for assignment {assignment!r} in {course_root}/source")
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_grader_wheel(Path(tmp) / "wheels")
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER.format(assignment=assignment))):
                info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
                info.external_attr = 0o755 << 16
                zf.writestr(info, text)
            zf.write(wheel, f"wheels/{wheel.name}")
            zf.write(Path(course_root) / "nbgrader_config.py", "nbgrader_config.py")
            for nb in notebooks:
                zf.write(nb, f"source/{assignment}/{nb.name}")
    return out
