"""bench/bench_jund_cv.py: a tiny run on the real JUND file prints both recipes and the baseline; it names a missing file."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "bench" / "bench_jund_cv.py"
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
def test_tiny_run_prints_both_recipes_their_paired_change_and_the_kmer_baseline():
    done = _run("--folds", "2", "--seeds", "1", "--epochs", "1")
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "27,622 windows, 117 bound" in out and ("device: cpu" in out or "device: cuda" in out)
    assert "global max-pool, 4 filters seeded with MA0491.1" in out and "seeded with MA0491.1 + MA0492.2" in out
    assert "change against the first recipe, seed by seed:" in out
    assert "gapped 3+3-mers" in out and "CV AUROC" in out
    assert "+ the k-mer regression, each standardised per fold and added:" in out
