"""bench/bench_jund_refit.py: a tiny run on the real JUND file prints every selection rule; it names a missing file."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "bench_jund_refit.py"
REAL = ROOT.parent / "shared" / "data"


def _run(*args):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)


def test_names_the_missing_data_file(tmp_path):
    done = _run("--data-dir", str(tmp_path))
    assert done.returncode != 0
    assert str(tmp_path / "jund" / "valid_dataset") in done.stderr and "absent" in done.stderr


@pytest.mark.skipif(not (REAL / "jund" / "valid_dataset").is_dir(), reason=f"real JUND data not available under {REAL}")
def test_tiny_run_scores_each_rule_on_the_held_out_folds():
    done = _run("--seeds", "1", "--epochs", "2")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "27,622 windows, 117 bound" in out and ("device: cpu" in out or "device: cuda" in out)
    assert out.count("seed 0 fold ") == 4
    for rule in ("epoch chosen on select W-acc (the notebook)", "epoch chosen on select AUROC", "fit on 75 %, last epoch",
                 "refit on 100 % for the W-acc-chosen epochs", "refit on 100 % for the AUROC-chosen epochs",
                 "refit on 100 %, all epochs"):
        line = next(row for row in out.splitlines() if rule in row and "/" in row)
        auroc = float(line.split()[-3])
        assert 0.0 <= auroc <= 1.0, line
