"""The sandboxed worker process: `python -m gradeworker` (started by the judge, never by hand).

The channel to the judge is stdin (requests) and stdout (answers); before any student code
runs, stdout is moved to another descriptor and fds 1 and 2 point to /dev/null, so that
printing cannot corrupt the channel. The first frame is the job: resource limits, the cells
to run, and their time budget. The worker applies the limits (hard, so student code cannot
raise them), runs the cells, reports, then answers requests until the judge closes the channel.
"""
from __future__ import annotations

import os
import resource
import sys


def _channel():
    """(reader, writer) on the judge's pipes; fds 0-2 no longer lead to the judge."""
    out_fd = os.dup(1)
    in_fd = os.dup(0)
    devnull = os.open(os.devnull, os.O_RDWR)
    keep_stderr = os.environ.get("GRADEWORKER_DEBUG") == "1"
    for fd in (0, 1) if keep_stderr else (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    return os.fdopen(in_fd, "rb", buffering=1 << 16), os.fdopen(out_fd, "wb", buffering=1 << 16)


LIMIT_NAMES = {"memory_mb": resource.RLIMIT_AS, "cpu_s": resource.RLIMIT_CPU, "processes": resource.RLIMIT_NPROC,
               "file_mb": resource.RLIMIT_FSIZE}


def apply_limits(limits: dict, processes_now: int | None = None) -> None:
    """Hard resource limits; a missing or zero value leaves that resource alone."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for key, which in LIMIT_NAMES.items():
        value = int(limits.get(key) or 0)
        if value > 0:
            if key in ("memory_mb", "file_mb"):
                value *= 1 << 20
            if key == "processes":
                value += processes_of_this_user() if processes_now is None else processes_now
            resource.setrlimit(which, (value, value))


def processes_of_this_user() -> int:
    """Processes this uid already runs (RLIMIT_NPROC counts them all)."""
    uid, n = os.getuid(), 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                n += os.stat(f"/proc/{entry}").st_uid == uid
            except OSError:
                pass
    return n


def main() -> int:
    reader, writer = _channel()
    return serve(reader, writer)


def serve(reader, writer, processes_now: int | None = None) -> int:
    """Read the job from `reader`, run its cells, then answer requests until the judge closes the channel.

    `processes_now`: how many processes count against this uid's process limit already (default:
    those of this uid in /proc)."""
    from .wire import read_frame, write_frame

    job, _ = read_frame(reader)
    apply_limits(job.get("limits", {}), processes_now)
    sys.path[:0] = [p for p in job.get("sys_path", []) if p not in sys.path]
    os.environ.update({k: str(v) for k, v in job.get("env", {}).items()})

    import torch
    torch.set_num_threads(int(job.get("threads", 1)))
    from .cells import run_cells
    from .session import Session

    log, namespace = run_cells([tuple(c) for c in job["cells"]], float(job.get("cell_budget_s", 120)))
    session = Session(namespace, scratch=job.get("scratch") or os.getcwd())
    write_frame(writer, {"ready": True, "cell_log": log, "cuda": torch.cuda.is_available()})
    while True:
        try:
            tree, tensors = read_frame(reader)
        except EOFError:
            return 0
        reply, out = session.handle(tree, tensors)
        write_frame(writer, reply, out)


if __name__ == "__main__":
    sys.exit(main())
