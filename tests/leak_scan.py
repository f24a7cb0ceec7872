"""Find solution or hidden-check text in files students receive."""
from __future__ import annotations

import html
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS",
           "course_lib.reference", "from autograder", "import autograder")
MIN_LEN = 20


def _lines(paths) -> set:
    out = set()
    for p in paths:
        for line in p.read_text().splitlines():
            s = line.strip()
            # signatures (`class MLP(nn.Module):`, `def f(x):`) are the public API the assignment states
            if len(s) >= MIN_LEN and not s.startswith(("#", '"""', "'''", "import ", "from ", "class ", "def ", "@")):
                out.add(s)
    return out


HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "from autograder", "import autograder")


SOLUTION_REGION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.DOTALL)


def model_answers() -> dict:
    """{grade_id: model answer and rubric} of every written answer (manually graded cell) of the sources."""
    import nbformat

    out = {}
    for path in sorted((REPO / "source").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type == "markdown" and meta.get("grade") and meta.get("solution"):
                region = SOLUTION_REGION.search(cell.source)
                out[meta["grade_id"]] = region.group(1).strip() if region else cell.source
    return out


def model_answer_lines() -> set:
    """The written answers' model-answer lines (students get "YOUR ANSWER HERE" instead)."""
    return {s.strip() for text in model_answers().values() for s in text.splitlines() if len(s.strip()) >= MIN_LEN}


def secret_lines(include_reference: bool = True) -> set:
    """Code lines of the hidden checks (and of the reference solutions) that the student library does not share."""
    # the mutants are sample submissions (a student's own code), not hidden material
    secret = _lines(p for p in (REPO / "autograder").rglob("*.py") if "mutants" not in p.parts)
    if include_reference:
        secret |= _lines((REPO / "course_lib" / "reference").rglob("*.py"))
        secret |= model_answer_lines()
    public = _lines(p for p in (REPO / "course_lib").rglob("*.py") if "reference" not in p.parts)
    return secret - public


def leaks_in_text(text: str, secrets: set, markers=MARKERS) -> list:
    """Markers and secret lines found in `text` (HTML is unescaped first)."""
    text = html.unescape(re.sub(r"<[^>]+>", "", text)) if "<html" in text[:2000].lower() else text
    found = [m for m in markers if m in text]
    for line in text.splitlines():
        if line.strip() in secrets:
            found.append(line.strip())
    return found


def notebook_text(path: Path) -> str:
    import nbformat

    nb = nbformat.read(path, as_version=4)
    parts = []
    for cell in nb.cells:
        parts.append(cell.source)
        for out in cell.get("outputs", []):
            parts.append(out.get("text", "") if isinstance(out.get("text", ""), str) else "")
            parts.extend(str(v) for v in out.get("data", {}).values())
            parts.extend(out.get("traceback", []))
    return "\n".join(parts)
