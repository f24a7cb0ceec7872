"""Judges forked from a warm server: a fresh judge process per notebook, without its start-up cost.

Each notebook is judged by its own process running `python -m autograder judge ...`, as before;
what changes is where that process comes from. A server process imports Python's slow parts
once (torch, pytest, scikit-learn, the reference, the judge), then forks one judge per request
and never judges anything itself. Only trusted course code runs in the server and the judges:
the student's code still runs in the sandboxed worker each judge starts.

Protocol (a Unix socket in a private folder): the client sends one JSON line {argv, env, log};
the forked judge answers {"pid": N}, and {"exit": code} when it is done. A client that times
out kills the judge by pid. The server exits when its client's pipe closes or its client dies,
and every judge when the server does (PR_SET_PDEATHSIG).

With AUTOGRADER_JUDGE=subprocess (or where fork is unavailable) judges are plain interpreters.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# imported once by the server: what every judge needs and is slow to import (nothing here runs anything)
PRELOAD = ("numpy", "torch", "scipy.stats", "sklearn.metrics", "pytest", "nbformat", "safetensors.torch",
           "autograder.__main__", "autograder.judge", "autograder.modeltests", "autograder.expect",
           "gradeworker.standins", "course_lib.reference")
START_BUDGET_S = 300

_lock = threading.Lock()
_server: "_Server | None" = None


def warm_available() -> bool:
    """Whether judges are forked from the warm server here."""
    return os.environ.get("AUTOGRADER_JUDGE") != "subprocess" and hasattr(os, "fork") and hasattr(socket, "AF_UNIX")


def run_judge(argv: list, env: dict, timeout_s: float, log_path: Path, workers: dict | None = None) -> int | None:
    """Run `python -m autograder <argv>` with environment `env`, its stderr into `log_path`.

    `workers` ({isolation, data_root, env}: how the judge will start its workers) lets a warm judge
    fork them from a worker template (`template.py`). The judge's exit code, or None if it ran past
    `timeout_s` (it is killed then).
    """
    if warm_available():
        try:
            server = _warm_server()
            return server.run(argv, dict(env, AUTOGRADER_PARENT_PID=str(server.proc.pid)), timeout_s, log_path,
                              workers)
        except (OSError, RuntimeError, ValueError, KeyError):   # no server (it died, or could not start): plain
            pass
    env = dict(env, AUTOGRADER_PARENT_PID=str(os.getpid()))      # the judge dies with us (see die_with_parent)
    with open(log_path, "wb") as log:
        try:
            return subprocess.run([sys.executable, "-m", "autograder", *argv], env=env, stdout=subprocess.DEVNULL,
                                  stderr=log, timeout=timeout_s).returncode
        except subprocess.TimeoutExpired:
            return None


def end_templates() -> None:
    """End the warm server's worker templates (e.g. when a batch is done); the server itself stays."""
    with _lock:
        server = _server if _server is not None and _server.proc.poll() is None else None
    if server is not None:
        try:
            server.request({"end_templates": True})
        except (OSError, ValueError, KeyError):
            pass


def _warm_server() -> "_Server":
    global _server
    with _lock:
        if _server is None or _server.proc.poll() is not None:
            _server = _Server()
        return _server


class _Server:
    """The client's handle on one server process."""

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="judge-server-"))     # mode 700: only this user connects
        self.address = str(self.folder / "socket")
        here = str(Path(__file__).resolve().parents[1])          # where this autograder is imported from
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [here, os.environ.get("PYTHONPATH")])))
        env.setdefault("OMP_NUM_THREADS", "1")   # as grading_env: torch's thread pool is sized at import
        self.proc = subprocess.Popen([sys.executable, "-c", "from autograder.judge_server import serve; serve()",
                                      self.address, str(os.getpid())], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=None if os.environ.get("AUTOGRADER_DEBUG") else subprocess.DEVNULL, env=env)
        started, _, _ = select.select([self.proc.stdout], [], [], START_BUDGET_S)
        ready = self.proc.stdout.readline() if started else b""   # it says so once everything is imported
        if ready.strip() != b"ready":
            self.proc.kill()
            raise RuntimeError(f"the judge server did not start in {START_BUDGET_S} s (exit code {self.proc.poll()})")

    def request(self, message: dict) -> dict:
        """Send one control message (no judge) and read its one-line answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(START_BUDGET_S)
            conn.connect(self.address)
            conn.sendall(json.dumps(message).encode() + b"\n")
            return json.loads(conn.makefile("rb").readline())

    def run(self, argv: list, env: dict, timeout_s: float, log_path: Path, workers: dict | None = None) -> int | None:
        deadline = time.monotonic() + timeout_s
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(START_BUDGET_S)
            conn.connect(self.address)
            request = {"argv": list(argv), "env": dict(env), "log": str(log_path), "workers": workers}
            conn.sendall(json.dumps(request).encode() + b"\n")
            reader = conn.makefile("rb")
            hello = reader.readline()          # sent right after the fork
            if not hello:
                raise OSError("the judge server closed the connection")
            pid = json.loads(hello)["pid"]
            conn.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                line = reader.readline()
            except (TimeoutError, socket.timeout):
                _kill(pid)
                return None
            if not line:                       # the judge died without a word (killed, out of memory)
                return -signal.SIGKILL
            return int(json.loads(line)["exit"])


JUDGE_NAME, SERVER_NAME = "grader-judge", "judge-server"   # what `ps` shows (the process name, 15 chars at most)


def _set_name(name: str) -> None:
    try:
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(15, name.encode(), 0, 0, 0)     # PR_SET_NAME
    except (OSError, AttributeError):
        pass


def _kill(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


# ------------------------------------------------------------------ the server process
def serve() -> None:
    """Import PRELOAD, then fork a judge for every connection until stdin closes."""
    import importlib

    address, client = sys.argv[1], int(sys.argv[2])
    if os.getppid() != client:          # the client died while starting us
        os._exit(1)
    # No PR_SET_PDEATHSIG here: it fires when the client's *thread* that started us ends (a batch's
    # thread pool), not only when the client dies. A client that dies, killed or not, closes our
    # stdin, and we end (the judges die with us: they do use it, and we fork them from our one thread).
    _set_name(SERVER_NAME)
    for name in PRELOAD:
        importlib.import_module(name)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(address)
    listener.listen(64)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)      # the kernel reaps finished judges
    sys.stdout.buffer.write(b"ready\n")
    sys.stdout.flush()
    from autograder import template
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable:                   # the client has gone: so do we, and our templates
            template.stop_all()
            os._exit(0)
        conn, _ = listener.accept()
        try:
            conn.settimeout(START_BUDGET_S)
            request = json.loads(conn.makefile("rb").readline())
            conn.settimeout(None)
        except (OSError, ValueError):
            conn.close()
            continue
        if request.get("end_templates"):
            template.stop_all()
            _answer(conn, {"ended": True})
            continue
        active = _template_for(request)
        if os.fork() == 0:
            _set_name(JUDGE_NAME)
            listener.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            template.ACTIVE = active
            os._exit(_judge(conn, request))
        conn.close()


def _answer(conn: socket.socket, message: dict) -> None:
    try:
        conn.sendall(json.dumps(message).encode() + b"\n")
    except OSError:
        pass
    conn.close()


def _template_for(request: dict):
    """The worker template for the request's worker settings, started with the request's environment."""
    from autograder import template
    spec = request.get("workers")
    if not isinstance(spec, dict):
        return None
    saved = dict(os.environ)
    os.environ.update(request.get("env") or {})        # the batch's worker uids, data folder, TMPDIR
    try:
        return template.ensure(str(spec.get("isolation")), spec.get("data_root"), dict(spec.get("env") or {}))
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _judge(conn: socket.socket, request: dict) -> int:
    """In a forked judge: answer with the pid, run the judge command, answer its exit code."""
    code = 1
    try:
        conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        null = os.open(os.devnull, os.O_RDWR)
        for fd, target in ((0, null), (1, null), (2, log)):
            os.dup2(target, fd)
        os.environ.clear()
        os.environ.update(request["env"])
        tempfile.tempdir = None                     # TMPDIR may differ from the server's
        if request["env"].get("OMP_NUM_THREADS", "").isdigit():
            import torch
            torch.set_num_threads(int(request["env"]["OMP_NUM_THREADS"]))
        from autograder.__main__ import main
        try:
            code = int(main(request["argv"]) or 0)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            import traceback
            traceback.print_exc()
            code = 1
        sys.stderr.flush()
        conn.sendall(json.dumps({"exit": code}).encode() + b"\n")
    except OSError:
        pass
    return code
