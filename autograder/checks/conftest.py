"""Wires the checks to a submission: the judge's (see autograder.plugin), or `--submission NOTEBOOK`."""
from autograder.cli_checks import pytest_addoption, pytest_configure, pytest_terminal_summary, pytest_unconfigure  # noqa: F401
from autograder.plugin import student  # noqa: F401
