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

    # ---------------------------------------------------------------- public
    def start(self, job: WorkerJob) -> Connection:
        proc, cleanup, scratch = self._spawn(job.env)
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
        return Connection(channel, log, ready.get("cuda") is True)

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
    def _spawn(self, extra_env: dict):
        """(process, cleanup, scratch path as the worker sees it)."""
        mode = self.isolation.mode
        slot = Slot() if self.root and mode in ("bubblewrap", "uid") else None
        lib = Path(tempfile.mkdtemp(prefix="grader-lib-"))
        host_scratch = Path(tempfile.mkdtemp(prefix="grader-scratch-"))
        scratch = SCRATCH if mode == "bubblewrap" else str(host_scratch)
        for name in ("course_lib", "gradeworker"):
            os.symlink(package_dir(name), lib / name)
        env = self._env(extra_env, scratch)
        stderr = None if os.environ.get("AUTOGRADER_DEBUG") else subprocess.DEVNULL
        stage = None
        try:
            if mode == "bubblewrap":
                cmd = self._bwrap_command()
                if slot is not None:
                    stage = tempfile.mkdtemp(prefix="grader-stage-")
                    cmd = self._staged(cmd, slot.uid, stage)
                proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, env=env,
                                        start_new_session=True, cwd="/")
            else:
                kw = {}
                if slot is not None:
                    os.chown(host_scratch, slot.uid, slot.uid)
                    hide_from(slot.uid, [*hidden_dirs(), *self.hidden])
                    kw = dict(user=slot.uid, group=slot.uid, extra_groups=[])
                os.chmod(host_scratch, 0o700)
                os.chmod(lib, 0o755)
                proc = subprocess.Popen(self._python_command(str(lib)), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=stderr, env=env, cwd=host_scratch, start_new_session=True, **kw)
        except BaseException:
            self._cleanup(None, slot, lib, host_scratch, stage)
            raise
        return proc, lambda: self._cleanup(proc, slot, lib, host_scratch, stage), scratch

    def _cleanup(self, proc, slot, lib: Path, host_scratch: Path, stage) -> None:
        if proc is not None:
            try:
                os.killpg(proc.pid, 9)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                proc.kill()
            except ProcessLookupError:
                pass
            proc.wait()
            for stream in (proc.stdin, proc.stdout):
                try:
                    stream.close()
                except OSError:
                    pass
        if slot is not None:
            slot.sweep()
            slot.release()
        shutil.rmtree(lib, ignore_errors=True)
        _force_rmtree(host_scratch)
        if stage:
            shutil.rmtree(stage, ignore_errors=True)

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

    def _python_command(self, lib: str) -> list:
        paths = [lib, *site_packages()]
        boot = f"import sys; sys.path[:0] = {paths!r}; import gradeworker.__main__ as m; sys.exit(m.main())"
        return [sys.executable, "-I", "-S", "-c", boot]

    def _bwrap_command(self) -> list:
        cmd = ["bwrap", "--unshare-all", "--die-with-parent", "--new-session", "--hostname", "grader",
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
        cmd += ["--proc", "/proc", "--dev", "/dev",
                "--size", str(TMP_MB << 20), "--tmpfs", "/tmp",
                "--size", str(SCRATCH_MB << 20), "--tmpfs", SCRATCH, "--chdir", SCRATCH]
        cmd += _gpu_binds()
        cmd += ["--", *self._python_command(LIB_MOUNT)]
        return cmd

    def _staged(self, bwrap_cmd: list, uid: int, stage: str) -> list:
        """Run bwrap as `uid` from root: bind the folders it must read at a neutral place first.

        An unprivileged uid may not be able to reach them (e.g. Python under /root); in a
        private mount namespace, root binds each one under a fresh tmpfs, and bwrap binds it
        from there. Nothing changes on the host.
        """
        sources, script = {}, [f"mount -t tmpfs -o size=1m,mode=755 grader-stage {shlex.quote(stage)}"]
        cmd = list(bwrap_cmd)
        for i in range(len(cmd) - 1):
            src = cmd[i + 1]
            if cmd[i] != "--ro-bind" or src.startswith(("/usr", "/bin", "/sbin", "/lib", "/etc", "/sys")):
                continue
            if src not in sources:
                sources[src] = f"{stage}/{len(sources)}"
                script.append(f"mkdir {shlex.quote(sources[src])} && "
                              f"mount --bind {shlex.quote(src)} {shlex.quote(sources[src])}")
            cmd[i + 1] = sources[src]
        drop = ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
                "--bounding-set=-all", "--"]
        script.append("exec " + " ".join(shlex.quote(a) for a in drop + cmd))
        return ["unshare", "-m", "--propagation", "private", "sh", "-ec", "\n".join(script)]


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
