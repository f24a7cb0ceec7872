"""From an LMS download (a zip or a folder of files named with student ids) to nbgrader's
`submitted/<student>/<assignment>/<notebook>.ipynb`.

File names look like `<student>_<anything>_<notebook>.ipynb` (Canvas, Moodle and most LMSs put
the student id first; `--pattern` changes that). Colab and browsers rename notebooks
(`Copy of jund.ipynb`, `jund (1).ipynb`, `jund.ipynb.ipynb`): these are matched to the
assignment's notebook and the rename is recorded.
"""
from __future__ import annotations

import csv
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PATTERN = r"^(?P<student>[A-Za-z0-9.\-]+)_(?P<name>.+\.ipynb)$"
_COPY = re.compile(r"^(copy of |kopie van |copia de |copie de )+", re.IGNORECASE)
_DUP = re.compile(r"\s*[\(\[]\d+[\)\]]$|\s*-\s*copy$|\s+copy$", re.IGNORECASE)


@dataclass
class Intake:
    student: str
    original: str          # the file name in the download
    notebook: str | None   # the assignment notebook it was matched to (None: no match)
    note: str              # "", "renamed from …", or why it was not matched


def canonical_name(filename: str) -> str:
    """Undo Colab/browser renames: 'Copy of jund (1).ipynb' -> 'jund.ipynb'."""
    stem = filename
    while stem.lower().endswith(".ipynb"):
        stem = stem[: -len(".ipynb")]
    stem = _COPY.sub("", stem.strip())
    previous = None
    while previous != stem:
        previous, stem = stem, _DUP.sub("", stem).strip()
    return stem.replace(" ", "_") + ".ipynb"


def matched_tail(filename: str, notebooks: list) -> tuple:
    """(notebook, the part of `filename` that names it) after dropping LMS prefixes, or (None, None).

    'jund (1).ipynb' and '12345_67890_Copy of jund.ipynb' both match 'jund.ipynb'; the longest
    notebook name that ends the file name (after an '_' or at the start) wins.
    """
    parts = filename.split("_")
    for start in range(len(parts)):  # drop LMS prefixes one '_'-separated piece at a time
        tail = "_".join(parts[start:])
        name = canonical_name(tail).lower()
        for nb in sorted(notebooks, key=len, reverse=True):
            if name == nb.lower():
                return nb, tail
    return None, None


def match_notebook(filename: str, notebooks: list) -> str | None:
    """The assignment notebook this file is (see matched_tail), or None."""
    return matched_tail(filename, notebooks)[0]


def _files(download: Path) -> tuple:
    if download.is_dir():
        return download, None
    if zipfile.is_zipfile(download):
        tmp = Path(tempfile.mkdtemp(prefix="intake-"))
        with zipfile.ZipFile(download) as zf:
            for member in zf.infolist():
                target = (tmp / member.filename).resolve()
                if not str(target).startswith(str(tmp.resolve())):  # no path traversal from a zip
                    continue
                zf.extract(member, tmp)
        return tmp, tmp
    raise ValueError(f"{download}: expected a folder or a .zip file of submissions")


def collect(download, assignment: str, notebooks: list, course_root, pattern: str = DEFAULT_PATTERN) -> list:
    """Copy each student's notebook into course_root/submitted/<student>/<assignment>/; return the log."""
    regex = re.compile(pattern)
    folder, cleanup = _files(Path(download))
    log = []
    try:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")):
            m = regex.match(path.name)
            if not m:
                log.append(Intake("?", path.name, None, "file name does not start with a student id"))
                continue
            student, name = m.group("student"), m.group("name")
            nb, tail = matched_tail(name, notebooks)
            if nb is None:
                log.append(Intake(student, path.name, None,
                                  f"not one of this assignment's notebooks ({', '.join(notebooks)})"))
                continue
            dest = Path(course_root) / "submitted" / student / assignment / nb
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, dest)
            log.append(Intake(student, path.name, nb, "" if tail == nb else f"renamed from {tail!r}"))
    finally:
        if cleanup is not None:
            shutil.rmtree(cleanup, ignore_errors=True)
    return log


def write_intake_log(log: list, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["student", "original_file", "notebook", "note"])
        for e in log:
            w.writerow([e.student, e.original, e.notebook or "", e.note])
    return path
