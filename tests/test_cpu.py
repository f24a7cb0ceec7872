"""course_lib.cpu: the CPU limit read from cgroup files, and torch's threads kept within it."""
import torch

from course_lib import cpu


def cgroup(tmp_path, files: dict, membership: str = "0::/\n"):
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    self_cgroup = tmp_path / "self_cgroup"
    self_cgroup.write_text(membership)
    return tmp_path, self_cgroup


def test_cgroup_v2_quota_of_the_processes_own_cgroup(tmp_path):
    root, me = cgroup(tmp_path, {"user.slice/jupyter-ann/cpu.max": "150000 100000\n", "cpu.max": "max 100000\n"},
                      "0::/user.slice/jupyter-ann\n")
    assert cpu.cgroup_cpu_quota(root, me) == 1.5
    assert cpu.cpu_limit(root, me) == min(2, cpu.cpu_limit(tmp_path / "none", me))


def test_no_limit_means_the_cores_we_may_run_on(tmp_path):
    root, me = cgroup(tmp_path, {"cpu.max": "max 100000\n"})
    assert cpu.cgroup_cpu_quota(root, me) is None
    import os
    assert cpu.cpu_limit(root, me) == len(os.sched_getaffinity(0))


def test_cgroup_v1_quota(tmp_path):
    root, me = cgroup(tmp_path, {"cpu,cpuacct/docker/abc/cpu.cfs_quota_us": "100000\n",
                                 "cpu,cpuacct/docker/abc/cpu.cfs_period_us": "100000\n"},
                      "4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n")
    assert cpu.cgroup_cpu_quota(root, me) == 1.0
    assert cpu.cpu_limit(root, me) == 1


def test_unreadable_or_garbled_files_mean_unknown(tmp_path):
    root, me = cgroup(tmp_path, {"cpu.max": "garbage\n"})
    assert cpu.cgroup_cpu_quota(root, me) is None
    assert cpu.cgroup_cpu_quota(tmp_path / "missing", tmp_path / "missing_self") is None


def test_match_torch_threads_lowers_never_raises():
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(3)
        assert cpu.match_torch_threads(1) == 1 and torch.get_num_threads() == 1
        assert cpu.match_torch_threads(4) == 1          # never raised above what is set
    finally:
        torch.set_num_threads(before)
