"""Workers forked from a warm template: a fresh sandbox per notebook without paying Python's start-up again.

A plain worker is a new interpreter in a new bubblewrap sandbox: about 2.5 s of imports (torch,
IPython, pandas, matplotlib, scikit-learn, course_lib) before the notebook's first cell. A
template (`gradeworker.template`) is one such sandboxed process that imports all that once and
then forks a worker per notebook; each worker enters its own user, mount, PID, network, IPC and
UTS namespaces, with its own /tmp, scratch and /dev/shm, an empty /proc, no capabilities and only
its channel open, and (root) its own cgroup for memory and processes. A worker can name no other
process, read no other worker's files and reach no network; killing it ends its PID namespace.

The judge server owns the templates (one per isolation settings) and forked judges inherit
them (`ACTIVE`); `grade_batch` ends them when the batch is done. Used for bubblewrap isolation on
machines without a GPU (a CUDA worker needs /proc and its own CUDA start); anywhere else, and
whenever a template cannot serve, workers start as plain processes. AUTOGRADER_TEMPLATE=0 turns it off.
"""
from __future__ import annotations

import os
import socket
import struct
from pathlib import Path

from .isolation import Cgroup, Isolation, Launcher, Limits, _gpu_binds
from .remote import FdChannel

START_BUDGET_S = 300
HELLO_BUDGET_S = 30
STOP_BUDGET_S = 10

ACTIVE: "Template | None" = None      # in a forked judge: the template the server started for its settings
_running: dict = {}                   # in the judge server: key -> Template


class TemplateUnavailable(RuntimeError):
    pass


def wanted(mode: str) -> bool:
    """Whether workers of isolation `mode` come from a template here."""
    return mode == "bubblewrap" and os.environ.get("AUTOGRADER_TEMPLATE", "1") != "0" and not _gpu_binds()


def key(mode: str, data_root, env: dict) -> tuple:
    """What a template is started with: isolation, data folder, the workers' extra environment, worker uids."""
    return (mode, str(Path(data_root).expanduser()) if data_root else "", tuple(sorted(env.items())),
            os.environ.get("AUTOGRADER_UIDS", ""))


class Template:
    """The judge side of one template process."""

    def __init__(self, mode: str, data_root, env: dict):
        self.key = key(mode, data_root, env)
        here, there = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        launcher = Launcher(Isolation(mode), Path(data_root) if data_root else None)
        try:
            self.proc, self._stop, _ = launcher._spawn(dict(env, GRADEWORKER_TEMPLATE_FD=str(there.fileno())),
                                                       Limits(), entry="gradeworker.template",
                                                       pass_fds=(there.fileno(),))
        finally:
            there.close()
        self.control = here
        here.settimeout(START_BUDGET_S)
        try:
            hello = here.recv(200)
        except OSError as exc:
            hello = f"no answer ({type(exc).__name__})".encode()
        if hello != b"ready":
            self.stop()
            raise TemplateUnavailable(f"the worker template did not start: {hello.decode(errors='replace')[:200]}")
        here.settimeout(None)

    def serves(self, mode: str, data_root, env: dict) -> bool:
        """Whether workers of these settings may come from this template (a dead one fails in `worker`)."""
        return self.key == key(mode, data_root, env)

    def stop(self) -> None:
        try:
            self.control.close()
        except OSError:
            pass
        self._stop()

    def worker(self, limits: Limits, running: dict) -> FdChannel:
        """A fresh worker forked from the template; its channel's close() ends it (`running` holds that too)."""
        channel, channel_there = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        lifeline, lifeline_there = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        lifeline.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        group = None
        try:
            try:
                socket.send_fds(self.control, [b"worker"], [channel_there.fileno(), lifeline_there.fileno()])
            finally:
                channel_there.close()
                lifeline_there.close()
            lifeline.settimeout(HELLO_BUDGET_S)
            hello, ancillary, _, _ = lifeline.recvmsg(16, socket.CMSG_SPACE(struct.calcsize("iII")))
            pid = _sender_pid(ancillary)
            if hello != b"hello" or pid is None:
                raise TemplateUnavailable("the worker template did not fork a worker")
            if os.geteuid() == 0:
                group = Cgroup.create(f"worker-t{pid}", limits)
                if group is not None:
                    group.add(pid)
            lifeline.sendall(b"go")
        except BaseException:
            _end(lifeline, channel, group)
            raise

        def cleanup():
            if running.pop(("template", pid), None) is not None:
                _end(lifeline, channel, group)

        running[("template", pid)] = cleanup
        return FdChannel(channel.fileno(), channel.fileno(), on_close=cleanup)


def _sender_pid(ancillary) -> int | None:
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            return struct.unpack("iII", data[:struct.calcsize("iII")])[0]
    return None


def _end(lifeline: socket.socket, channel: socket.socket, group) -> None:
    """Ask the keeper to kill the worker (and its PID namespace), wait until it has, free its cgroup."""
    try:
        lifeline.settimeout(STOP_BUDGET_S)
        lifeline.sendall(b"k")
        while lifeline.recv(16):
            pass
    except OSError:
        pass
    for sock in (channel, lifeline):
        sock.close()
    if group is not None:
        group.kill()
        group.remove()


# ------------------------------------------------------------------ in the judge server
def ensure(mode: str, data_root, env: dict) -> "Template | None":
    """The running template for these settings, started if needed; None where templates are not used or fail."""
    if not wanted(mode):
        return None
    k = key(mode, data_root, env)
    current = _running.get(k)
    if current is not None and current.proc.poll() is None:
        return current
    try:
        _running[k] = Template(mode, data_root, env)
    except (OSError, RuntimeError, ValueError):
        _running.pop(k, None)
        return None
    return _running[k]


def stop_all() -> None:
    while _running:
        _, template = _running.popitem()
        template.stop()
