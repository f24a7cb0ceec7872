"""Every Python file of the project is free of the mistakes a static check finds before a run does.

Undefined names (a renamed variable still printed at the end of a 20-minute benchmark), names
used before assignment and shadowed imports fail here; unused imports are left to review.
"""
from pathlib import Path

import pytest

pyflakes_api = pytest.importorskip("pyflakes.api", reason="pyflakes is a dev dependency (pip install -e .[dev])")
from pyflakes import messages  # noqa: E402
from pyflakes.reporter import Reporter  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
FOLDERS = ("course_lib", "autograder", "gradeworker", "bench", "tests")
IGNORED = (messages.UnusedImport, messages.RedefinedWhileUnused, messages.ImportStarUsed,
           messages.ImportStarUsage)


class Collect(Reporter):
    def __init__(self):
        super().__init__(None, None)
        self.found = []

    def flake(self, message):
        if not isinstance(message, IGNORED):
            name = Path(message.filename)
            name = name.relative_to(REPO) if name.is_relative_to(REPO) else name
            self.found.append(f"{name}:{message.lineno}: "
                              f"{message.message % message.message_args}")

    def syntaxError(self, filename, msg, lineno, offset, text):
        self.found.append(f"{filename}:{lineno}: syntax error: {msg}")

    def unexpectedError(self, filename, msg):
        self.found.append(f"{filename}: {msg}")


def test_no_undefined_or_shadowed_names():
    files = [p for folder in FOLDERS for p in sorted((REPO / folder).rglob("*.py"))]
    assert len(files) > 50, "the project's Python files were not found"
    report = Collect()
    for path in files:
        pyflakes_api.checkPath(str(path), report)
    assert not report.found, "\n".join(report.found)


def test_the_check_finds_an_undefined_name(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def main():\n    splits = 1\n    print(data_dir, splits)\n")
    report = Collect()
    pyflakes_api.checkPath(str(bad), report)
    assert len(report.found) == 1 and "bad.py:3: undefined name 'data_dir'" in report.found[0]
