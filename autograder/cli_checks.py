"""Running the hidden checks with plain pytest against one submission (for instructors and TAs).

    pytest autograder/checks/jund.py --submission submitted/alice/jund/jund.ipynb -k weighted_accuracy -x

The submission runs in a worker exactly as the judge runs it (same isolation); pytest's own
options (-k, -x, --junitxml, -v) work as usual, and the end of the run prints the report a
student would read. The judge does not go through here: it sets `plugin.ACTIVE` itself.
"""
from __future__ import annotations

from pathlib import Path

from . import plugin

KEY = "_autograder_cli"


def pytest_addoption(parser):
    group = parser.getgroup("autograder", "hidden checks against one submission")
    group.addoption("--submission", help="the submitted notebook to check")
    group.addoption("--source", help="its source notebook (default: source/<assignment>/<same file name>)")
    group.addoption("--isolation", choices=("bubblewrap", "uid", "none"), help="default: the strongest available")
    group.addoption("--full", action="store_true", help="run the notebook without fast mode")


def pytest_configure(config):
    submission = config.getoption("--submission", default=None)
    if plugin.ACTIVE is not None or not submission:
        return
    import nbformat

    from .isolation import Launcher, choose
    from .judge import Settings
    from .notebooks import cells_to_run, graded_cells, read_submission
    from .pipeline import REPO_ROOT, source_notebooks
    from .remote import Student

    assignment = Path(str(config.args[0]).split("::")[0]).stem if config.args else None
    source = Path(config.getoption("--source") or _source_for(Path(submission), assignment, REPO_ROOT,
                                                               source_notebooks))
    source_nb = nbformat.read(source, as_version=4)
    from .judge import prepare_data
    prepare_data(source, fast=not config.getoption("--full"))
    settings = Settings(isolation=choose(config.getoption("--isolation")), fast=not config.getoption("--full"))
    job = settings.job(cells_to_run(source_nb, read_submission(submission)))
    launcher = Launcher(settings.isolation, settings.data_root)
    student = Student(lambda: launcher.start(job))
    grading = plugin.Grading(student, items=[g.name for g in graded_cells(source_nb)])
    config.pluginmanager.register(grading, "autograder-grading")
    plugin.ACTIVE = grading
    setattr(config, KEY, grading)
    config._autograder_launcher = launcher


def _source_for(submission: Path, assignment, root, source_notebooks) -> Path:
    notebooks = source_notebooks(root, assignment) if assignment else []
    for nb in notebooks:
        if nb.name == submission.name:
            return nb
    if len(notebooks) == 1:
        return notebooks[0]
    raise SystemExit(f"pass --source: cannot tell which notebook of {assignment!r} {submission.name} is")


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    grading = getattr(config, KEY, None)
    if grading is None:
        return
    terminalreporter.section("what the student reads")
    for report in grading.reports().values():
        terminalreporter.write_line(report.text())
    for nodeid, tb in grading.errors:
        terminalreporter.section(f"grader error in {nodeid}")
        terminalreporter.write_line(tb)


def pytest_unconfigure(config):
    grading = getattr(config, KEY, None)
    if grading is not None:
        grading.student.close()
        config._autograder_launcher.stop_all()
        plugin.ACTIVE = None
