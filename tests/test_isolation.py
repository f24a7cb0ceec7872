"""The sandbox's command line: what a worker sees (the attack suite runs the real sandbox end to end)."""
import shutil
import tempfile
from pathlib import Path

import pytest

from autograder import isolation
from autograder.isolation import Isolation, Launcher


def _mount_ops(cmd: list) -> list:
    """(op, destination) of every mount bwrap performs, in order."""
    ops, i = [], 0
    while i < len(cmd) and cmd[i] != "--":
        if cmd[i] in ("--ro-bind", "--bind", "--symlink"):
            ops.append((cmd[i], cmd[i + 2]))
            i += 3
        elif cmd[i] in ("--tmpfs", "--proc", "--dev"):
            ops.append((cmd[i], cmd[i + 1]))
            i += 2
        else:
            i += 1
    return ops


def test_what_is_bound_from_under_tmp_is_not_hidden_by_the_private_tmp(monkeypatch, tmp_path):
    """A course cloned under /tmp (its .venv there): the private /tmp is mounted before the binds."""
    venv = tmp_path / ".venv" / "lib"
    venv.mkdir(parents=True)
    monkeypatch.setattr(isolation, "python_paths", lambda: [venv])
    data = tmp_path / "data_cache"
    data.mkdir()
    ops = _mount_ops(Launcher(Isolation("bubblewrap"), data_root=data)._bwrap_command())
    tmp_at = ops.index(("--tmpfs", "/tmp"))
    for dest in (str(venv), str(data)):
        assert ops.index(("--ro-bind", dest)) > tmp_at, (dest, ops)


def test_the_reference_is_an_empty_folder_in_the_sandbox():
    ops = _mount_ops(Launcher(Isolation("bubblewrap"))._bwrap_command())
    lib = ops.index(("--ro-bind", f"{isolation.LIB_MOUNT}/course_lib"))
    assert ops.index(("--tmpfs", f"{isolation.LIB_MOUNT}/course_lib/reference")) > lib
    cmd = Launcher(Isolation("bubblewrap"))._bwrap_command()
    assert str(isolation.package_dir("autograder")) not in cmd


@pytest.fixture
def open_tmp():
    """A folder every user may enter (pytest's own tmp_path sits under a mode-700 folder)."""
    path = Path(tempfile.mkdtemp(prefix="reveal-", dir="/tmp"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_uid_mode_reveals_only_what_a_blocked_folder_holds_that_the_worker_needs(open_tmp):
    tmp_path = open_tmp
    home = tmp_path / "home"                       # like /root: mode 700, Python inside
    python = home / ".pyenv" / "versions" / "3.11"
    python.mkdir(parents=True)
    home.chmod(0o700)
    open_folder = tmp_path / "course"
    open_folder.mkdir()
    lines = isolation._reveal_commands([python, python / "lib", open_folder])
    hide = [line for line in lines if f"grader-reveal {home}" in line]
    assert len(hide) == 1, lines                   # a tmpfs over the blocked folder ...
    binds_back = [line for line in lines if line.endswith(f"mount --bind {lines[1].split()[1]} {python}")]
    assert binds_back and lines.index(binds_back[0]) > lines.index(hide[0]), lines   # ... then Python back in place
    assert not any(str(open_folder) in line for line in lines)      # reachable folders are left alone
    assert not any(f"{python}/lib" in line for line in lines)     # nested in a revealed folder: nothing more


def test_uid_mode_needs_no_mount_namespace_when_everything_is_reachable(open_tmp):
    tmp_path = open_tmp
    (tmp_path / "venv").mkdir()
    assert isolation._reveal_commands([tmp_path / "venv"]) == []
