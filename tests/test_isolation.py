"""The sandbox's command line: what a worker sees (the attack suite runs the real sandbox end to end)."""
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
