"""bench/bench_real_data.py: its quick mode runs on the real data (skips without it), and it skips cleanly."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "bench_real_data.py"
REAL = ROOT.parent / "shared" / "data"


def _run(*args, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_skips_with_a_reason_when_the_data_folder_is_absent(tmp_path):
    done = _run("--data-dir", str(tmp_path / "nowhere"))
    assert done.returncode == 0, done.stderr
    assert "skipped" in done.stdout and "nowhere" in done.stdout


def test_skips_each_missing_data_set_with_a_reason(tmp_path):
    done = _run("--data-dir", str(tmp_path), "--quick")
    assert done.returncode == 0, done.stderr
    for name in ("JUND", "CTCF", "DNA binding", "Nuclei"):
        assert f"== {name}: skipped" in done.stdout


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real data not available ({REAL} is absent)")
def test_quick_mode_prints_one_table_per_real_data_set():
    done = _run("--quick")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    for title, rows in [("JUND", ["CNN as in the notebook", "previous recipe", "seeded with MA0491.1 + MA0492.2",
                                   "recipe refit on train + valid for its chosen epochs",
                                   "gapped 3+3-mers, logistic regression", "+ that regression",
                                   "+ the regression refit on train + valid", "PWM scan"]),
                        ("CTCF", ["CTCFNetRegularized", "RC augmentation", "logistic regression", "MA0139.1"]),
                        ("DNA binding CSV, GC-shifted", ["LSTMSeq", "logistic regression"]),
                        ("Nuclei", ["UNet(base=4) as in the notebook", "global brightness threshold"])]:
        block = out.split(f"== {title}")[1].split("\n== ")[0]
        assert "device:" in block and "wall time" in block and "split:" in block
        for r in rows:
            assert r in block, f"{title}: no row {r!r}"
    assert "test W-acc" in out.split("== JUND")[1].split("\n== ")[0]
    nuclei_block = out.split("== Nuclei")[1]
    assert "test Dice" in nuclei_block and "test IoU" in nuclei_block and "334 grayscale" in nuclei_block
