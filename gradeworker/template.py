"""A warm worker template: import the slow parts once, then fork one fresh, walled-off worker per notebook.

Runs inside the bubblewrap sandbox that `autograder.template` starts, as a plain worker would,
and never runs student code itself. Each request on its control socket (fd $GRADEWORKER_TEMPLATE_FD,
SOCK_SEQPACKET) carries two descriptors: the notebook's channel (frames, as on a worker's
stdin/stdout) and a lifeline. For each, the template forks a *keeper*, which

1. says hello on the lifeline (the kernel attaches its pid, which the judge side sees in its own
   PID namespace and puts in the notebook's own cgroup), and waits for "go";
2. enters new user, mount, PID, network, IPC and UTS namespaces, mounts a private /tmp, scratch
   and /dev/shm and an empty /proc (so nothing of the template or of other notebooks can be named),
   and forks the worker, the first process of the new PID namespace;
3. waits: when the judge closes or writes to the lifeline it kills the worker, and with it every
   process of that namespace; when the worker ends it exits, which closes the lifeline.

The worker enters one more user and mount namespace, which locks those mounts (a process in a
less privileged namespace cannot unmount them to see what is below), drops every capability,
closes everything but its channel and serves the notebook exactly as `python -m gradeworker` does.
"""
from __future__ import annotations

import ctypes
import os
import select
import signal
import socket
import sys

NEWNS, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET = 0x20000, 0x4000000, 0x8000000, 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_BIND, MS_MOVE, MS_REC, MS_PRIVATE = 1, 2, 4, 0x1000, 0x2000, 0x4000, 1 << 18
PR_SET_NO_NEW_PRIVS, PR_CAPBSET_DROP, PR_SET_NAME = 38, 24, 15
SCRATCH, TMP_MB, SCRATCH_MB = "/home/student", 256, 512
PRELOAD = ("numpy", "torch", "torch._decomp", "torch.nn", "pandas", "scipy.stats", "sklearn.metrics",
           "matplotlib", "matplotlib.pyplot", "IPython.core.interactiveshell", "tqdm", "gradeworker.session",
           "gradeworker.cells", "gradeworker.standins")

_libc = ctypes.CDLL(None, use_errno=True)


class NamespaceError(OSError):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise NamespaceError(err, f"{what}: {os.strerror(err)}")


def _unshare(flags: int) -> None:
    """New namespaces (`flags`); this process keeps its uid and gid inside the new user namespace."""
    uid, gid = os.geteuid(), os.getegid()
    _check(_libc.unshare(flags), "unshare")
    for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):
        with open(f"/proc/self/{name}", "w") as fh:
            fh.write(text)


def _mount_tmpfs(where: str, options: str, flags: int = MS_NOSUID | MS_NODEV) -> None:
    if os.path.isdir(where):
        _check(_libc.mount(b"tmpfs", where.encode(), b"tmpfs", flags, options.encode()), f"mount {where}")


def _drop_capabilities() -> None:
    for cap in range(64):
        _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)      # fails past the last capability: harmless

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()     # _LINUX_CAPABILITY_VERSION_3, all sets empty
    _check(_libc.capset(ctypes.byref(header), data), "capset")
    _check(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _close_all_but(keep: set) -> None:
    for fd in sorted(int(f) for f in os.listdir("/proc/self/fd") if f.isdigit()):
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def _wall_off() -> None:
    """In the keeper: the namespaces and private mounts the worker will live in."""
    uid, gid = os.geteuid(), os.getegid()
    _unshare(NEWUSER | NEWNS | NEWPID | NEWNET | NEWIPC | NEWUTS)
    _check(_libc.mount(None, b"/", None, MS_REC | MS_PRIVATE, None), "make / private")
    _fresh_tmp(_mounts_under("/tmp"))
    _mount_tmpfs(SCRATCH, f"size={SCRATCH_MB}m,mode=700,uid={uid},gid={gid}")
    _mount_tmpfs("/dev/shm", "size=64m,mode=1777")


def _mounts_under(top: str) -> list:
    """Mount points strictly below `top` (the sandbox binds there when the course lives in /tmp), outermost only."""
    points = []
    with open("/proc/self/mountinfo") as fh:
        for line in fh:
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(top + "/"):
                points.append(point)
    return [p for p in sorted(set(points)) if not any(p.startswith(q + "/") for q in points)]


def _fresh_tmp(keep: list) -> None:
    """An empty /tmp of the worker's own, with the sandbox's read-only binds below /tmp (`keep`) still in place.

    The new tmpfs is built at SCRATCH (not yet the worker's scratch), the binds are bound into it while
    the old /tmp is still visible, and then it is moved onto /tmp.
    """
    _mount_tmpfs(SCRATCH, f"size={TMP_MB}m,mode=1777")
    for point in keep:
        inside = SCRATCH + point[len("/tmp"):]
        os.makedirs(inside, exist_ok=True)
        _check(_libc.mount(point.encode(), inside.encode(), None, MS_BIND | MS_REC, None), f"bind {point}")
    _check(_libc.mount(SCRATCH.encode(), b"/tmp", None, MS_MOVE, None), "move the new /tmp")


def _lock_down() -> None:
    """In the worker: lock the keeper's mounts (a new user namespace), hide /proc, drop every capability."""
    _unshare(NEWUSER | NEWNS)
    _mount_tmpfs("/proc", "size=16k,mode=555", MS_NOSUID | MS_NODEV | MS_RDONLY)
    _drop_capabilities()


def _worker(channel: int, processes_now: int) -> int:
    """The first process of the new PID namespace: lock down, serve the notebook."""
    _lock_down()
    os.closerange(3, channel)        # (/proc is empty now: nothing else is open but the channel anyway)
    os.closerange(channel + 1, 4096)
    os.chdir(SCRATCH)
    from .__main__ import serve
    reader = os.fdopen(os.dup(channel), "rb", buffering=1 << 16)
    writer = os.fdopen(channel, "wb", buffering=1 << 16)
    return serve(reader, writer, processes_now=processes_now)


def _keeper(channel: int, lifeline: socket.socket) -> int:
    """Between the template and one worker (trusted code only): see the module docstring."""
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    _close_all_but({channel, lifeline.fileno()})
    lifeline.sendall(b"hello")
    if lifeline.recv(16) != b"go":
        return 1
    from .__main__ import processes_of_this_user
    processes_now = processes_of_this_user()         # counted while /proc still shows them
    try:
        _wall_off()
    except OSError:
        _debug()
        return 2
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            lifeline.close()
            code = _worker(channel, processes_now)
        except BaseException:
            _debug()
        finally:
            os._exit(code)
    os.close(channel)
    ended = os.pidfd_open(pid)
    while True:
        ready, _, _ = select.select([lifeline, ended], [], [])
        if lifeline in ready:            # the judge is done (or gone): the worker's namespace ends
            os.kill(pid, signal.SIGKILL)
        if ended in ready or lifeline in ready:
            os.waitpid(pid, 0)
            return 0


def _warm_up() -> None:
    """Run once what every worker would otherwise start cold: torch's CPU kernels, the meta device, a figure."""
    import torch
    torch.set_num_threads(1)
    x = torch.randn(2, 4, 16, requires_grad=True)
    for layer in (torch.nn.Conv1d(4, 4, 3), torch.nn.LSTM(16, 4, batch_first=True), torch.nn.GRU(16, 4)):
        out = layer(x)
        (out[0] if isinstance(out, tuple) else out).sum().backward()
    torch.nn.Linear(2, 2, device="meta")(torch.empty(1, 2, device="meta"))   # the first meta forward is slow
    import matplotlib.pyplot as plt                # the first figure loads fonts and styles
    fig, ax = plt.subplots()
    ax.hist([0.0, 1.0], label="x")
    ax.legend()
    ax.set_title("x")
    plt.close(fig)
    threads = len(os.listdir("/proc/self/task"))
    if threads != 1:
        raise RuntimeError(f"the template runs {threads} threads: forking it would not be safe")


def _debug() -> None:
    if os.environ.get("GRADEWORKER_DEBUG") == "1":
        import traceback
        traceback.print_exc()


def _self_test() -> str:
    """'' if a keeper can wall itself off here (nested user namespaces allowed), else why not."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            _wall_off()
            inner = os.fork()
            if inner == 0:
                try:
                    _lock_down()
                    os._exit(0 if not os.listdir("/proc") else 1)
                finally:
                    os._exit(1)
            code = 0 if os.waitpid(inner, 0)[1] == 0 else 1
        except BaseException:
            _debug()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return "" if status == 0 else "nested namespaces are not allowed here"


def main() -> int:
    control = socket.socket(fileno=int(os.environ.pop("GRADEWORKER_TEMPLATE_FD")))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1) if os.environ.get("GRADEWORKER_DEBUG") == "1" else (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    import importlib
    for name in PRELOAD:
        importlib.import_module(name)
    _warm_up()
    problem = _self_test()
    control.send(f"unavailable: {problem}".encode() if problem else b"ready")
    if problem:
        return 1
    _libc.prctl(PR_SET_NAME, b"worker-template", 0, 0, 0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)     # keepers are reaped by the kernel
    while True:
        try:
            _, fds, _, _ = socket.recv_fds(control, 16, 2)
        except OSError:
            return 0
        if len(fds) != 2:
            for fd in fds:
                os.close(fd)
            if not fds:
                return 0              # the judge side closed the control socket
            continue
        if os.fork() == 0:
            code = 1
            try:
                control.close()
                code = _keeper(fds[0], socket.socket(fileno=fds[1]))
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
