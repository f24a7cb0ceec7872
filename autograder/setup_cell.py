"""The first two cells of every notebook: what to know before running it, and the locked set-up cell.

`sync_setup_cells` writes them into each source notebook, so that `nbgrader generate_assignment`
carries them into the release (run by `python -m autograder release`):

* `course_before_you_start` (markdown): the notebook's full-mode times and the GPU advice, taken
  from the README's table "How long the notebooks take" (the one place those numbers live);
* `course_setup` (code, locked): rendered from course_config.json and `course_lib.setup`'s template;
  it installs the student wheel that travels with the release folder (see `pipeline.generate_release`).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat

import course_lib
from course_lib.setup import SETUP_CELL_TEMPLATE as TEMPLATE

from .student_build import wheel_name

CELL_ID = "course_setup"
INTRO_ID = "course_before_you_start"
TIMES_HEADING = "### How long the notebooks take"


def load_config(course_root) -> dict:
    return json.loads((Path(course_root) / "course_config.json").read_text())


def render(assignment: str, config: dict) -> str:
    data = config.get("data", {}).get(assignment, {})
    return TEMPLATE.format(lib_url=config.get("course_lib_url", ""), wheel=wheel_name(), data_url=data.get("url", ""),
                           sha256=data.get("sha256", ""), assignment=assignment, version=course_lib.__version__)


def _cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def notebook_times(readme: str) -> tuple[list[str], dict[str, list[str]]]:
    """(column names, {notebook: its cells}) of the README's table of full-mode times (first column dropped)."""
    if TIMES_HEADING not in readme:
        raise ValueError(f"README.md: no section {TIMES_HEADING!r} with the table of notebook times")
    after = readme.split(TIMES_HEADING, 1)[1].splitlines()
    table = [line for line in after[next(i for i, line in enumerate(after) if line.startswith("|")):]]
    table = table[:next((i for i, line in enumerate(table) if not line.startswith("|")), len(table))]
    header, rows = _cells(table[0])[1:], {}
    for line in table[2:]:
        first, *rest = _cells(line)
        name = re.match(r"`([^`]+)`", first)
        if name:
            rows[name.group(1)] = rest
    return header, rows


def render_intro(notebook: str, readme: str) -> str:
    """The markdown cell above the set-up cell: full-mode times of `notebook` and where to find a GPU."""
    header, rows = notebook_times(readme)
    if notebook not in rows:
        raise KeyError(f"README.md: the table under {TIMES_HEADING!r} has no row for `{notebook}`")
    return "\n".join([
        "**Before you run anything: time and hardware.** Run from top to bottom, this notebook takes:",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
        "| " + " | ".join(rows[notebook]) + " |",
        "",
        "- **Use a GPU if you can.** In Colab choose *Runtime › Change runtime type › T4 GPU* **before** running",
        "  the first cell: changing it later restarts the session and forgets what you ran. On JupyterHub, start",
        "  a server with a GPU if your course offers one; on a CPU, leave time for the slow training cells.",
        "- Then run the set-up cell below. It installs `course_lib` if needed (its file",
        f"  `{wheel_name()}` comes with this notebook) and says which versions and which device",
        "  (GPU or CPU) you are using.",
    ])


def setup_cell(assignment: str, config: dict):
    cell = nbformat.v4.new_code_cell(render(assignment, config))
    cell.id = CELL_ID
    cell.metadata["nbgrader"] = {"grade": False, "grade_id": CELL_ID, "locked": True, "schema_version": 3,
                                 "solution": False, "task": False}
    return cell


def intro_cell(notebook: str, readme: str):
    cell = nbformat.v4.new_markdown_cell(render_intro(notebook, readme))
    cell.id = INTRO_ID
    return cell


def sync_setup_cells(course_root, assignment: str) -> list:
    """Put the intro cell, then the rendered set-up cell, first in each source notebook of `assignment`
    (cells already there are updated and moved, keeping their metadata); return the paths changed."""
    config = load_config(course_root)
    readme = (Path(course_root) / "README.md").read_text()
    changed = []
    for path in sorted((Path(course_root) / "source" / assignment).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        wanted = [intro_cell(path.stem, readme), setup_cell(assignment, config)]
        top = [next((c for c in nb.cells if c.get("id") == w.id), w) for w in wanted]
        if all(a is b for a, b in zip(nb.cells[:2], top)) and all(t.source == w.source for t, w in zip(top, wanted)):
            continue
        for t, w in zip(top, wanted):
            t.source = w.source
        nb.cells = top + [c for c in nb.cells if all(c is not t for t in top)]
        nbformat.write(nb, path)
        changed.append(path)
    return changed
