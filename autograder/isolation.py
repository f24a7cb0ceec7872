"""Where a student's worker runs: a bubblewrap sandbox, a separate unprivileged uid, or (marked) nothing.

- `bubblewrap`: new user, PID, network, IPC and mount namespaces. The worker sees a read-only
  system, Python, its packages, `course_lib` (its `reference/` replaced by an empty folder),
  `gradeworker` and the data folder, plus a private size-capped scratch and /tmp; nothing of
  `autograder/`, `source/`, the gradebook, other submissions or results. No network. Killing
  the sandbox kills every process in it (its PID namespace ends). Run by root, the sandbox
  also runs as its own unprivileged uid, so a per-uid process limit stops fork bombs.
- `uid`: where namespaces are refused (Docker-based graders), root runs the worker as a
  dedicated uid with no access to the hidden files (their modes are tightened), in its own
  session; every process of that uid is killed at the end. No network isolation.
- `none`: a plain child process. Grading works; every result says `isolation: none`.

`choose()` picks the strongest mode that works here (probed once per process).
"""
from __future__ import annotations

import fcntl
import functools
import os
import shlex
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .outcomes import WorkerLost
from .remote import Connection, ProcessChannel

MODES = ("bubblewrap", "uid", "none")
LIB_MOUNT = "/opt/grader/lib"
SCRATCH = "/home/student"
SHARED_WRITABLE = ("/tmp", "/var/tmp", "/dev/shm")   # where any uid may write (cleaned after a uid-mode worker)
SLOT_UID_BASE, SLOT_COUNT = 61000, 2000      # worker uids; $AUTOGRADER_UIDS="FIRST-LAST" picks another range
SLOT_LOCKS = Path("/tmp/autograder-slots")     # fixed: every grader on this machine must share it
SCRATCH_MB, TMP_MB = 512, 256


@dataclass(frozen=True)
class Isolation:
    mode: str
    reason: str = ""


@dataclass
class Limits:
    memory_mb: int = 6000      # address space (CPU only: CUDA maps far more)
    cpu_s: int = 1800          # CPU seconds of the worker, all requests together
    processes: int = 64        # more than this many processes of the worker's uid: fork fails
    file_mb: int = 256         # largest file it may write


@dataclass
class WorkerJob:
    """What a worker runs: the notebook's cells, their budget, limits and environment."""
    cells: list
    cell_budget_s: float = 120.0
    start_budget_s: float = 900.0
    limits: Limits = field(default_factory=Limits)
    env: dict = field(default_factory=dict)
    threads: int = 1


# ------------------------------------------------------------------------------ what the worker may see
def python_paths() -> list:
    """The interpreter's own folders the worker needs (read-only): base prefix and virtual environment."""
    paths = [Path(sys.base_prefix)]
    if Path(sys.prefix) != Path(sys.base_prefix):
        paths.append(Path(sys.prefix))
    return paths


def site_packages() -> list:
    import sysconfig
    return sorted({sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]})


def package_dir(name: str) -> Path:
    import importlib
    return Path(importlib.import_module(name).__file__).resolve().parent


def hidden_dirs() -> list:
    """Folders of hidden material wherever the judge imports them from (checks, reference)."""
    return [package_dir("autograder"), package_dir("course_lib.reference")]


def _under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
        return True
    except ValueError:
        return False


# ------------------------------------------------------------------------------ choosing a mode
@functools.lru_cache(maxsize=None)
def choose(requested: str | None = None, probe: bool = True) -> Isolation:
    """The isolation to use: `requested` (or $AUTOGRADER_ISOLATION) if it works, else the strongest that does.

    `probe=False` trusts a mode that an earlier probe (e.g. the batch's) already found working.
    """
    requested = requested or os.environ.get("AUTOGRADER_ISOLATION") or None
    if requested and requested not in MODES:
        raise ValueError(f"isolation must be one of {', '.join(MODES)}, not {requested!r}")
    if requested and not probe:
        return Isolation(requested)
    problems = []
    for mode in MODES if requested is None else (requested,):
        reason = _unavailable(mode)
        if reason is None:
            return Isolation(mode, "; ".join(problems))
        problems.append(f"{mode}: {reason}")
        if requested:
            raise RuntimeError(f"isolation {requested!r} is not available here: {reason}")
    return Isolation("none", "; ".join(problems))


def _unavailable(mode: str) -> str | None:
    if mode == "none":
        return None
    if mode == "uid" and os.geteuid() != 0:
        return "needs root (to run the worker as another uid)"
    if mode == "bubblewrap" and shutil.which("bwrap") is None:
        return "bwrap is not installed (Debian package bubblewrap)"
    try:
        probe = Launcher(Isolation(mode)).run_probe()
    except Exception as exc:  # any failure to start means this mode cannot be used here
        return f"probe failed ({type(exc).__name__}: {str(exc)[:200]})"
    return None if probe else "probe failed"


# ------------------------------------------------------------------------------ slots (one uid each)
def uid_range() -> tuple:
    """(first uid, how many) of the worker uids."""
    spec = os.environ.get("AUTOGRADER_UIDS")
    if not spec:
        return SLOT_UID_BASE, SLOT_COUNT
    first, last = (int(x) for x in spec.split("-"))
    return first, last - first + 1


class Slot:
    """An unprivileged uid for one worker, held (by a lock file) while the worker lives."""

    def __init__(self):
        SLOT_LOCKS.mkdir(mode=0o700, exist_ok=True)
        first, count = uid_range()
        start = os.getpid() % count
        for i in range(count):
            uid = first + (start + i) % count
            fh = open(SLOT_LOCKS / f"{uid}.lock", "w")
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                fh.close()
                continue
            self.uid, self._fh = uid, fh
            return
        raise RuntimeError("no free worker uid")

    def sweep(self) -> None:
        """Kill every process of this uid (nothing a submission started may survive it)."""
        subprocess.run(["kill", "-9", "-1"], user=self.uid, group=self.uid, extra_groups=[],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)

    def release(self) -> None:
        self._fh.close()


# ------------------------------------------------------------------------------ launching
class Launcher:
    """Starts workers in one isolation mode; `start(job)` returns a live `Connection`."""

    def __init__(self, isolation: Isolation, data_root: Path | None = None, hidden: tuple = ()):
        self.isolation = isolation
        self.data_root = Path(data_root) if data_root else None
        self.hidden = tuple(Path(p) for p in hidden)   # course folders to hide in uid mode (source/, ...)
        self.root = os.geteuid() == 0
        self._running: dict = {}      # pid -> cleanup of every worker started and not yet stopped
        self.forked = 0               # workers forked from a template (template.py)
        become_subreaper()

    def stop_all(self) -> None:
        """Stop every worker this launcher started that is still running (the judge's last word)."""
        for cleanup in list(self._running.values()):
            cleanup()

    # ---------------------------------------------------------------- public
    def start(self, job: WorkerJob) -> Connection:
        channel = self._from_template(job)
        scratch = SCRATCH
        if channel is None:
            proc, cleanup, scratch = self._spawn(job.env, job.limits)
            channel = ProcessChannel(proc, on_close=cleanup)
        deadline = time.monotonic() + job.start_budget_s
        first = {"limits": dict(vars(job.limits)), "cells": job.cells, "cell_budget_s": job.cell_budget_s,
                 "threads": job.threads, "scratch": scratch}
        try:
            ready, _ = channel.exchange(first, {}, deadline)
        except TimeoutError:
            channel.close()
            raise WorkerLost(f"the notebook did not finish running in {job.start_budget_s:g} s") from None
        except (EOFError, ValueError) as exc:
            channel.close()
            raise WorkerLost(f"the worker stopped while running the notebook ({type(exc).__name__})") from None
        if not isinstance(ready, dict) or ready.get("ready") is not True:
            channel.close()
            raise WorkerLost("the worker sent a malformed greeting")
        log = [(str(label)[:80], str(err)[:300]) for label, err in _pairs(ready.get("cell_log"))]
        return Connection(channel, log, ready.get("cuda") is True, forked=not isinstance(channel, ProcessChannel))

    def _from_template(self, job: WorkerJob):
        """A worker forked from the judge server's warm template (see `template.py`), or None."""
        from . import template
        active = template.ACTIVE
        if active is None or not active.serves(self.isolation.mode, self.data_root, job.env):
            return None
        try:
            channel = active.worker(job.limits, self._running)
        except (OSError, RuntimeError):
            return None
        self.forked += 1
        return channel

    def run_probe(self) -> bool:
        """Start a worker with no cells and check that it answers (used to choose a mode)."""
        job = WorkerJob(cells=[["probe", "import torch"]], start_budget_s=120)
        conn = self.start(job)
        try:
            from .remote import Student
            student = Student(lambda: conn)
            with student.budget(30):
                return student.request("ping", seed=None) == "pong" and \
                    conn.cell_log == [("probe", "")]
        finally:
            conn.channel.close()

    # ---------------------------------------------------------------- spawning
    def _spawn(self, extra_env: dict, limits: Limits, entry: str = "gradeworker.__main__", pass_fds: tuple = ()):
        """(process, cleanup, scratch path as the worker sees it); the process runs `entry`'s main()."""
        mode = self.isolation.mode
        slot = Slot() if self.root and mode in ("bubblewrap", "uid") else None
        group = Cgroup.create(f"worker-{slot.uid}", limits) if slot is not None else None
        folders = []          # host folders to remove afterwards (none in bubblewrap mode)
        stderr = None if os.environ.get("AUTOGRADER_DEBUG") else subprocess.DEVNULL
        try:
            if mode == "bubblewrap":
                scratch, cwd = SCRATCH, "/"
                cmd = self._bwrap_command(entry)
                if slot is not None:
                    cmd = self._as_root_then(slot.uid, cmd, group, stage=True)
            else:
                base = _uid_work_root() if slot is not None else None
                lib = Path(tempfile.mkdtemp(prefix="grader-lib-", dir=base))
                host_scratch = Path(tempfile.mkdtemp(prefix="grader-scratch-", dir=base))
                folders += [lib, host_scratch]
                for name in ("course_lib", "gradeworker"):
                    os.symlink(package_dir(name), lib / name)
                os.chmod(lib, 0o755)
                scratch, cwd = str(host_scratch), host_scratch
                cmd = self._python_command(str(lib), entry)
                if slot is not None:
                    os.chown(host_scratch, slot.uid, slot.uid)
                    hide_from(slot.uid, [*hidden_dirs(), *self.hidden])
                    needed = [*python_paths(), package_dir("course_lib"), package_dir("gradeworker"), base]
                    if self.data_root is not None:
                        needed.append(self.data_root)
                    cmd = self._as_root_then(slot.uid, cmd, group, stage=False, reveal=needed)
                os.chmod(host_scratch, 0o700)
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr,
                                    env=self._env(extra_env, scratch), cwd=cwd, start_new_session=True,
                                    pass_fds=pass_fds)
        except BaseException:
            _cleanup(None, slot, group, folders)
            raise
        shared = SHARED_WRITABLE if mode == "uid" and slot is not None else ()
        def cleanup():
            if self._running.pop(proc.pid, None) is not None:
                _cleanup(proc, slot, group, folders, shared)

        self._running[proc.pid] = cleanup
        return proc, cleanup, scratch

    def _as_root_then(self, uid: int, cmd: list, group, stage: bool, reveal: list = ()) -> list:
        """A root shell that puts itself in the worker's cgroup, stages what `uid` must read, then becomes `uid`.

        Staging: an unprivileged uid may not reach the folders bwrap binds (e.g. Python under /root).
        In a private mount namespace, root binds each of them under a fresh tmpfs mounted over an
        unused folder, and bwrap binds them from there. Nothing changes on the host.
        `reveal` (uid mode): folders the worker opens at their own paths; see `_reveal_commands`.
        """
        script = group.join_commands() if group is not None else []
        cmd = list(cmd)
        revealing = _reveal_commands(reveal)
        script += revealing
        if stage:
            sources = [cmd[i + 1] for i in range(len(cmd) - 1) if cmd[i] == "--ro-bind"
                       and not cmd[i + 1].startswith(("/usr", "/bin", "/sbin", "/lib", "/etc", "/sys"))]
            where = _staging_point(sources)
            script.append(f"mount -t tmpfs -o size=1m,mode=755 grader-stage {where}")
            staged = {}
            for i in range(len(cmd) - 1):
                src = cmd[i + 1]
                if cmd[i] == "--ro-bind" and src in sources:
                    if src not in staged:
                        staged[src] = f"{where}/{len(staged)}"
                        script.append(f"mkdir {staged[src]} && mount --bind {shlex.quote(src)} {staged[src]}")
                    cmd[i + 1] = staged[src]
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--"]
        script.append("exec " + " ".join(shlex.quote(a) for a in drop + cmd))
        shell = ["sh", "-ec", "\n".join(script)]
        return ["unshare", "-m", "--propagation", "private", *shell] if stage or revealing else shell


    def _env(self, extra: dict, scratch: str) -> dict:
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": scratch,
               "MPLBACKEND": "Agg", "MPLCONFIGDIR": f"{scratch}/.mpl", "OMP_NUM_THREADS": "1",
               "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1",
               "TMPDIR": "/tmp" if self.isolation.mode == "bubblewrap" else scratch}
        if self.data_root is not None:
            env["COURSE_DATA_DIR"] = str(self.data_root)
        for key in ("COURSE_FAST", "GRADEWORKER_DEBUG", "CUDA_VISIBLE_DEVICES"):
            if key in os.environ:
                env[key] = os.environ[key]
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def _python_command(self, lib: str, entry: str = "gradeworker.__main__") -> list:
        paths = [lib, *site_packages()]
        boot = f"import sys; sys.path[:0] = {paths!r}; import {entry} as m; sys.exit(m.main())"
        return [sys.executable, "-I", "-S", "-c", boot]

    def _bwrap_command(self, entry: str = "gradeworker.__main__") -> list:
        # private /tmp and scratch first: what is bound afterwards may itself live under /tmp (a clone in /tmp)
        cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--hostname", "grader",
               "--proc", "/proc", "--dev", "/dev", "--size", str(TMP_MB << 20), "--tmpfs", "/tmp",
               "--size", str(SCRATCH_MB << 20), "--tmpfs", SCRATCH,
               "--ro-bind", "/usr", "/usr"]
        for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
            p = Path(top)
            if p.is_symlink():
                cmd += ["--symlink", os.readlink(p), top]
            elif p.is_dir():
                cmd += ["--ro-bind", top, top]
        for etc in ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf", "localtime",
                    "alternatives"):
            if os.path.lexists(f"/etc/{etc}"):
                cmd += ["--ro-bind", f"/etc/{etc}", f"/etc/{etc}"]
        binds = [(str(p), str(p)) for p in python_paths()]
        binds += [(str(package_dir("course_lib")), f"{LIB_MOUNT}/course_lib"),
                  (str(package_dir("gradeworker")), f"{LIB_MOUNT}/gradeworker")]
        if self.data_root is not None and self.data_root.is_dir():
            binds.append((str(self.data_root), str(self.data_root)))
        for src, dest in binds:
            cmd += ["--ro-bind", src, dest]
        # hidden material inside anything bound (e.g. a grader wheel in site-packages) becomes an empty folder
        hide = {f"{LIB_MOUNT}/course_lib/reference"}
        for hidden in hidden_dirs():
            for src, dest in binds:
                if _under(hidden, Path(src)):
                    hide.add(str(Path(dest) / hidden.resolve().relative_to(Path(src).resolve())))
        for dest in sorted(hide):
            cmd += ["--tmpfs", dest]
        cmd += ["--chdir", SCRATCH]
        cmd += _gpu_binds()
        cmd += ["--", *self._python_command(LIB_MOUNT, entry)]
        return cmd


def _blocked_ancestor(path: Path) -> Path | None:
    """The highest folder above `path` that other users may not traverse (e.g. /root, mode 700), or None."""
    for folder in reversed(Path(path).resolve().parents):
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def _reveal_commands(paths: list) -> list:
    """Shell lines (run as root in a private mount namespace) that let another uid reach `paths` where they are.

    A folder the worker needs may sit under one it may not traverse (Python under /root, mode 700).
    Each needed folder is bound aside, a tmpfs (mode 755) is mounted over the blocking folder, which
    hides everything else in it, and the needed folders are bound back at their own paths, so every
    path (and the interpreter's built-in library paths) stays as it was. Nothing changes on the host.
    No lines (and no mount namespace) when nothing is blocked, as on a Docker grader's /usr Python.
    """
    blocked: dict = {}
    wanted = list(dict.fromkeys(Path(p).resolve() for p in paths))
    for path in wanted:
        if any(other != path and other in path.parents for other in wanted):
            continue          # bound back with the folder that holds it
        top = _blocked_ancestor(path)
        if top is not None:
            blocked.setdefault(top, []).append(path)
    if not blocked:
        return []
    where = _staging_point([str(p) for p in paths])
    lines = [f"mount -t tmpfs -o size=1m,mode=755 grader-stage {where}"]
    for n, (top, inside) in enumerate(blocked.items()):
        aside = [f"{where}/{n}-{i}" for i in range(len(inside))]
        lines += [f"mkdir {a} && mount --bind {shlex.quote(str(p))} {a}" for a, p in zip(aside, inside)]
        lines.append(f"mount -t tmpfs -o size=1m,mode=755 grader-reveal {shlex.quote(str(top))}")
        lines += [f"mkdir -p {shlex.quote(str(p))} && mount --bind {a} {shlex.quote(str(p))}"
                  for a, p in zip(aside, inside)]
    return lines


def _staging_point(sources: list) -> str:
    """An existing folder to mount the staging tmpfs over (in the private namespace): not above any source."""
    for candidate in ("/mnt", "/media", "/srv", "/opt", "/boot"):
        path = Path(candidate)
        if path.is_dir() and not path.is_symlink() and not any(_under(Path(s), path) for s in sources):
            return candidate
    raise RuntimeError("no folder to stage the sandbox's mounts on")


def _uid_work_root() -> Path:
    """Where uid-mode workers' folders live: a root-owned folder others may traverse but not list."""
    root = Path("/tmp/autograder-work")
    root.mkdir(mode=0o711, exist_ok=True)
    os.chmod(root, 0o711)
    return root


def _cleanup(proc, slot, group, folders, shared=()) -> None:
    """Kill the worker and everything it started; free its uid, cgroup and folders.

    `shared`: world-writable folders (uid mode) from which whatever the worker's uid left is removed.

    The sandbox's own first process (bubblewrap's pid 1 of the namespace, a child of the
    process we started) is killed first: the whole PID namespace dies with it, and bubblewrap
    reaps it and exits, so nothing is left, not even a zombie.
    """
    if proc is not None:
        for child in _children(proc.pid):
            try:
                os.kill(child, 9)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for kill in (lambda: os.killpg(proc.pid, 9), proc.kill):
            try:
                kill()
            except (ProcessLookupError, PermissionError):
                pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass
    if group is not None:
        group.kill()
    if slot is not None:
        slot.sweep()
        _wait_until_gone(slot.uid)
        for top in shared:
            _remove_entries_of(slot.uid, Path(top))
        slot.release()
    if group is not None:
        group.remove()
    _reap_orphans()
    for folder in folders:
        _force_rmtree(folder)


def _remove_entries_of(uid: int, top: Path) -> None:
    """Remove everything `uid` owns under `top`, looking only where it could have written (world-writable
    folders, its own): files a uid-mode worker left in /tmp must not reach the next one."""
    stack = [top]
    while stack:
        try:
            entries = list(os.scandir(stack.pop()))
        except OSError:
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
                if st.st_uid == uid:
                    if stat.S_ISDIR(st.st_mode):
                        _force_rmtree(Path(entry.path))
                    else:
                        os.unlink(entry.path)
                elif stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_IWOTH:
                    stack.append(entry.path)
            except OSError:
                pass


def become_subreaper() -> None:
    """Make this process the reaper of every orphan its workers leave (Linux), so none lingers as a zombie.

    Without it, a worker's killed descendants are re-parented to the machine's pid 1, which in a
    container often never reaps them.
    """
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)     # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def die_with_parent(parent_pid: int | None = None) -> None:
    """Be killed when the process that started this one dies (Linux), e.g. a Dask worker killed mid-task,
    so that no judge (and, through bwrap's --die-with-parent, no sandbox) grades on for nobody."""
    try:
        import ctypes
        import signal
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL), 0, 0, 0)     # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if parent_pid is not None and os.getppid() != parent_pid:     # it died before the line above
        os._exit(1)


def _processes_of(uid: int) -> list:
    """(pid, state) of every process owned by `uid`."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    state = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[0]
                    found.append((int(entry), state))
            except (OSError, IndexError):
                pass
    return found


def _wait_until_gone(uid: int, timeout_s: float = 30.0) -> None:
    """Kill, and reap where they are ours, the processes of `uid` until none is left (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = _processes_of(uid)
        if not left:
            return
        for pid, state in left:
            try:
                if state == "Z":
                    os.waitpid(pid, os.WNOHANG)
                else:
                    os.kill(pid, 9)
            except (ChildProcessError, ProcessLookupError, PermissionError):
                pass
        time.sleep(0.02)


def _reap_orphans() -> None:
    """Reap the workers' zombies re-parented to this process (it is their subreaper).

    Only a worker's processes qualify (another uid, or a sandbox's own bwrap): this process's other
    subprocesses are waited for by whoever started them.
    """
    me, uid = str(os.getpid()), os.geteuid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            head, tail = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)
            fields, owner = tail.split(), os.stat(f"/proc/{entry}").st_uid
        except (OSError, ValueError):
            continue
        if fields[0] == "Z" and fields[1] == me and (owner != uid or head.endswith("(bwrap")):
            try:
                os.waitpid(int(entry), os.WNOHANG)
            except ChildProcessError:
                pass


def _children(pid: int) -> list:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class Cgroup:
    """A memory and process cap on a worker's whole process tree (root only; cgroup v2, or v1 controllers).

    Per-process limits (RLIMIT_AS) do not bound a tree: 64 processes of 6 GB each could still
    exhaust the machine. A cgroup does. Where cgroups cannot be written, `create` returns None
    and the per-process limits remain.
    """

    def __init__(self, dirs: list):
        self.dirs = dirs

    @classmethod
    def create(cls, name: str, limits: Limits):
        root = Path("/sys/fs/cgroup")
        memory = str(limits.memory_mb << 20) if limits.memory_mb else "max"
        try:
            if (root / "cgroup.controllers").exists():
                parent = root / "autograder"
                parent.mkdir(exist_ok=True)
                (root / "cgroup.subtree_control").write_text("+memory +pids")
                (parent / "cgroup.subtree_control").write_text("+memory +pids")
                d = parent / name
                d.mkdir(exist_ok=True)
                (d / "memory.max").write_text(memory)
                (d / "pids.max").write_text(str(limits.processes))
                return cls([d])
            dirs = []
            for controller, settings in (("memory", {"memory.limit_in_bytes": memory if memory != "max" else "-1"}),
                                         ("pids", {"pids.max": str(limits.processes)})):
                d = root / controller / "autograder" / name
                d.mkdir(parents=True, exist_ok=True)
                for key, value in settings.items():
                    (d / key).write_text(value)
                dirs.append(d)
            return cls(dirs)
        except OSError:
            return None

    def add(self, pid: int) -> None:
        """Move process `pid` (and what it starts afterwards) into this group."""
        for d in self.dirs:
            (d / "cgroup.procs").write_text(str(pid))

    def join_commands(self) -> list:
        return [f"echo $$ > {shlex.quote(str(d / 'cgroup.procs'))}" for d in self.dirs]

    def kill(self) -> None:
        for d in self.dirs:
            for _ in range(50):
                try:
                    pids = [int(p) for p in (d / "cgroup.procs").read_text().split()]
                except OSError:
                    return
                if not pids:
                    break
                for pid in pids:
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
                time.sleep(0.02)

    def remove(self) -> None:
        for d in self.dirs:
            try:
                d.rmdir()
            except OSError:
                pass


def _gpu_binds() -> list:
    out = []
    for dev in sorted(Path("/dev").glob("nvidia*")):
        if dev.is_char_device():
            out += ["--dev-bind", str(dev), str(dev)]
    if out and Path("/sys").is_dir():
        out += ["--ro-bind", "/sys", "/sys"]
    return out


def _pairs(log) -> list:
    if not isinstance(log, list):
        return []
    return [tuple(e) for e in log if isinstance(e, list) and len(e) == 2]


def hide_from(uid: int, paths: list) -> None:
    """Make `paths` unreadable by `uid` (owner root, no access for group and others)."""
    for path in paths:
        path = Path(path)
        if path.exists() and path.stat().st_uid != uid:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                os.chmod(path, mode & ~(stat.S_IRWXG | stat.S_IRWXO))


def _force_rmtree(path: Path) -> None:
    """Remove a folder even if the worker left unreadable or unwritable entries in it."""
    def fix(func, p, exc_info):
        try:
            os.chmod(os.path.dirname(p), 0o700)
            os.chmod(p, 0o700)
            func(p)
        except OSError:
            pass
    shutil.rmtree(path, onerror=fix)
