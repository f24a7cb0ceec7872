"""Workers forked from a warm template: each is as walled off as a freshly started sandbox, and ends whole.

Every test runs hostile code in a real template's worker (the attack suite runs a whole batch
through templates too): it must see no other process, no other worker's files, no network, no
descriptor but its channel, no capability, and no way to uncover the template's /proc.
"""
from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

import pytest

from attack_support import require_sandbox
from autograder import template
from autograder.isolation import Isolation, Launcher, WorkerJob
from autograder.remote import Student

pytestmark = pytest.mark.slow

PROBE = r'''
import ctypes, errno, os, socket
_libc = ctypes.CDLL(None, use_errno=True)

def _errno(result):
    return 0 if result == 0 else ctypes.get_errno()

def probe(port):
    out = {"pid": os.getpid(), "proc": sorted(os.listdir("/proc")), "hostname": socket.gethostname()}
    import stat
    out["sockets"] = len({os.fstat(fd).st_ino for fd in range(256) if _is_open(fd)
                          and stat.S_ISSOCK(os.fstat(fd).st_mode)})
    out["alive"] = [pid for pid in range(2, 4096) if _exists(pid)]
    out["mount"] = _errno(_libc.mount(b"tmpfs", b"/mnt", b"tmpfs", 0, None))
    out["umount_proc"] = _errno(_libc.umount2(b"/proc", 2))
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).sendall(b"reached")
        out["network"] = "reached"
    except OSError as exc:
        out["network"] = type(exc).__name__
    return out

def uncover_proc():
    """A new user namespace gives every capability again: try to unmount what hides /proc (in a
    child: a process with threads may not enter a new user namespace)."""
    import json
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        if _libc.unshare(0x10000000 | 0x20000) != 0:
            answer = ["unshare", ctypes.get_errno()]
        else:
            answer = [_errno(_libc.umount2(b"/proc", 2)), sorted(os.listdir("/proc"))[:5]]
        os.write(write, json.dumps(answer).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    return json.loads(os.read(read, 10000))

def _is_open(fd):
    try:
        os.fstat(fd)
        return True
    except OSError:
        return False

def _exists(pid):
    """Whether a process (not a thread: threads have ids too) `pid` exists."""
    try:
        os.close(os.pidfd_open(pid))
        return True
    except OSError as exc:
        return exc.errno not in (errno.ESRCH, errno.EINVAL, errno.ENOENT)   # ENOENT: a thread

def leave_traces(tag):
    for folder in ("/tmp", "/home/student", "/dev/shm"):
        open(os.path.join(folder, tag), "w").write(tag)
    if os.fork() == 0:
        os.setsid()
        import time
        time.sleep(300)
        os._exit(0)
    return True

def traces():
    return sorted(name for folder in ("/tmp", "/home/student", "/dev/shm") for name in os.listdir(folder)
                  if not name.startswith("."))
'''


@pytest.fixture(scope="module")
def warm():
    require_sandbox()
    if not template.wanted("bubblewrap"):
        pytest.skip("worker templates are not used here (a GPU machine, or AUTOGRADER_TEMPLATE=0)")
    t = template.Template("bubblewrap", None, {})
    template.ACTIVE = t
    yield t
    template.ACTIVE = None
    t.stop()


def _worker(launcher: Launcher) -> Student:
    conn = launcher.start(WorkerJob(cells=[["probe", PROBE]]))
    assert conn.cell_log == [("probe", "")]
    assert conn.forked
    return Student(lambda: conn)


def _call(student: Student, name: str, *args):
    with student.budget(60):
        return student.function(name)(*args)


def _descendants(pid: int) -> set:
    """Host pids of every process below `pid`."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                pass
    found, frontier = set(), {pid}
    while frontier:
        frontier = {p for p, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def test_a_forked_worker_sees_no_process_descriptor_network_or_capability(warm):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    launcher = Launcher(Isolation("bubblewrap"))
    try:
        student = _worker(launcher)
        seen = _call(student, "probe", listener.getsockname()[1])
        assert seen["pid"] == 1 and seen["alive"] == []          # its own PID namespace, nobody else in it
        assert seen["proc"] == []                                 # nothing of the template can be named
        assert seen["sockets"] == 1             # its channel: not the template's control socket, not the lifeline
        assert seen["mount"] != 0 and seen["umount_proc"] != 0    # no capability left
        assert seen["network"] != "reached"
        result, listing = _call(student, "uncover_proc")
        assert result != 0 and listing == []                       # the cover over /proc is locked
    finally:
        launcher.stop_all()
        listener.close()


def test_two_live_workers_share_no_files_and_closing_one_ends_all_it_started(warm):
    launcher = Launcher(Isolation("bubblewrap"))
    try:
        before = _descendants(warm.proc.pid)
        first, second = _worker(launcher), _worker(launcher)
        baseline = _call(first, "traces")         # e.g. the folder of a course under /tmp, bound read-only
        assert "first" not in baseline
        assert _call(first, "leave_traces", "first") is True
        assert _call(first, "traces") == sorted(baseline + ["first"] * 3)
        assert _call(second, "traces") == baseline            # alive side by side, nothing shared
        assert _call(second, "probe", 9)["alive"] == []
        assert len(_descendants(warm.proc.pid)) >= len(before) + 5   # 2 keepers, 2 workers, the daemon
        first.connection.channel.close()
        deadline = time.monotonic() + 10
        while len(_descendants(warm.proc.pid)) > len(before) + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(_descendants(warm.proc.pid)) == len(before) + 2  # the first's daemon went with it
        third = _worker(launcher)
        assert _call(third, "traces") == baseline            # a later worker finds nothing either
    finally:
        launcher.stop_all()
    assert _descendants(warm.proc.pid) == before


def test_what_the_sandbox_binds_below_tmp_stays_there_read_only_under_the_fresh_tmp():
    """A course cloned under /tmp (as in CI): its data folder is bound below the sandbox's /tmp."""
    require_sandbox()
    if not template.wanted("bubblewrap"):
        pytest.skip("worker templates are not used here")
    data = Path(tempfile.mkdtemp(prefix="template-data-", dir="/tmp"))
    data.chmod(0o755)
    (data / "table.txt").write_text("planted")
    (data / "table.txt").chmod(0o644)
    t = template.Template("bubblewrap", data, {})
    template.ACTIVE = t
    launcher = Launcher(Isolation("bubblewrap"), data)
    code = f"""
import os
seen = open({str(data / 'table.txt')!r}).read()
try:
    open({str(data / 'table.txt')!r}, "w").write("changed")
    wrote = True
except OSError:
    wrote = False
def observed():
    return [seen, wrote]
"""
    try:
        conn = launcher.start(WorkerJob(cells=[["read", code]]))
        assert conn.forked and conn.cell_log == [("read", "")]
        student = Student(lambda: conn)
        with student.budget(30):
            assert student.function("observed")() == ["planted", False]
        assert (data / "table.txt").read_text() == "planted"
    finally:
        template.ACTIVE = None
        launcher.stop_all()
        t.stop()
        shutil.rmtree(data)


def test_without_a_live_template_workers_start_plain():
    require_sandbox()
    if not template.wanted("bubblewrap"):
        pytest.skip("worker templates are not used here")
    t = template.Template("bubblewrap", None, {})
    t.stop()
    template.ACTIVE = t
    launcher = Launcher(Isolation("bubblewrap"))
    try:
        conn = launcher.start(WorkerJob(cells=[["probe", "x = 1"]]))
        assert not conn.forked and conn.cell_log == [("probe", "")]
    finally:
        template.ACTIVE = None
        launcher.stop_all()
