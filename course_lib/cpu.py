"""How many CPUs this process may really use, and torch's thread count matched to it.

torch starts one thread per core it sees. A JupyterHub server or a container limited to 2 CPUs by
its cgroup still sees every core of the host, and many threads time-sharing 2 CPUs spin and wait:
on this project's 2-core machine, busy with other jobs, one training cell took 302 s with 2 torch
threads and 32 s with 1. `match_torch_threads` keeps torch within what the machine grants.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _quota_v2(path: Path) -> float | None:
    """CPUs granted by a cgroup v2 `cpu.max` file ("200000 100000" = 2 CPUs; "max ..." = no limit)."""
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _quota_v1(folder: Path) -> float | None:
    """CPUs granted by cgroup v1's cpu.cfs_quota_us / cpu.cfs_period_us (-1 = no limit)."""
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 or period <= 0 else quota / period


def cgroup_cpu_quota(root: Path = CGROUP_ROOT, self_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup (a fraction of CPUs allowed), or None when unlimited or unknown."""
    own = []
    try:
        for line in self_cgroup.read_text().splitlines():
            hierarchy, _, rest = line.partition(":")
            controllers, _, path = rest.partition(":")
            if hierarchy == "0" or "cpu" in controllers.split(","):
                own.append(path.lstrip("/"))
    except OSError:
        pass
    quotas = [q for rel in own + [""] for q in (_quota_v2(root / rel / "cpu.max"),
                                                 _quota_v1(root / "cpu" / rel), _quota_v1(root / "cpu,cpuacct" / rel))
              if q is not None]
    return min(quotas) if quotas else None


def cpu_limit(root: Path = CGROUP_ROOT, self_cgroup: Path = Path("/proc/self/cgroup")) -> int:
    """CPUs this process can use at once: its CPU affinity, capped by its cgroup's quota (rounded up)."""
    n = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = cgroup_cpu_quota(root, self_cgroup)
    return max(1, min(n, math.ceil(quota))) if quota else max(1, n)


def match_torch_threads(limit: int | None = None) -> int:
    """Lower torch's intra-op threads to `limit` (default: `cpu_limit()`) if it uses more; the count in use."""
    import torch

    limit = cpu_limit() if limit is None else max(1, int(limit))
    if torch.get_num_threads() > limit:
        torch.set_num_threads(limit)
    return torch.get_num_threads()
