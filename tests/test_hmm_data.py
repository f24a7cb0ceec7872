"""The HMM data folder: written once, deterministic, disjoint splits, fast mode, Dataset batches."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from course_lib import hmm
from course_lib.data import hmm as data
from course_lib.data import hmm_synthetic, manifest
from course_lib.datasets import IncompleteDataError, load_hmm
from course_lib.training import make_loader

SMALL = {"train": 40, "valid": 10, "test": 20}


@pytest.fixture
def folder(tmp_path):
    hmm_synthetic.write_synthetic(tmp_path, seed=1, sizes=SMALL, length=60)
    return tmp_path


def test_writes_three_tsvs_and_a_manifest(folder):
    written = manifest.read(folder)
    assert written["params"]["sizes"] == SMALL
    for split in data.SPLITS:
        dna, hidden = hmm.read_tsv(data.split_path(folder, split))
        assert len(dna) == SMALL[split] and {len(s) for s in dna} == {60}
        acc = written["decoder_accuracy"][split]
        assert set(acc) == set(hmm.DECODERS) and 0.5 < acc["posterior"] <= 1


def test_splits_are_disjoint(folder):
    splits = load_hmm(folder, fast=False)
    seen = [set(splits[s].dna) for s in data.SPLITS]
    assert all(len(s) == SMALL[name] for s, name in zip(seen, data.SPLITS))
    assert not (seen[0] & seen[1] or seen[0] & seen[2] or seen[1] & seen[2])


def test_distinct_samples_redraws_duplicates():
    bases, states = hmm_synthetic.distinct_samples(20, 3, hmm.COURSE_HMM, np.random.default_rng(0))
    assert len({tuple(row) for row in bases}) == 20 and states.shape == (20, 3)
    with pytest.raises(ValueError, match="too short"):
        hmm_synthetic.distinct_samples(17, 2, hmm.COURSE_HMM, np.random.default_rng(0))


def test_cached_and_deterministic(folder, tmp_path_factory):
    path = data.split_path(folder, "train")
    before = path.stat().st_mtime_ns
    hmm_synthetic.write_synthetic(folder, seed=1, sizes=SMALL, length=60)
    assert path.stat().st_mtime_ns == before
    other = tmp_path_factory.mktemp("again")
    hmm_synthetic.write_synthetic(other, seed=1, sizes=SMALL, length=60)
    assert data.split_path(other, "test").read_text() == data.split_path(folder, "test").read_text()
    hmm_synthetic.write_synthetic(other, seed=2, sizes=SMALL, length=60)
    assert data.split_path(other, "test").read_text() != data.split_path(folder, "test").read_text()


def test_fast_mode_keeps_the_first_rows(folder, monkeypatch):
    monkeypatch.setattr(data, "FAST_ROWS", {"train": 8, "valid": 3, "test": 5})
    monkeypatch.setenv("COURSE_FAST", "1")
    fast = load_hmm(folder)
    full = load_hmm(folder, fast=False)
    for split, n in data.FAST_ROWS.items():
        assert len(fast[split]) == n
        assert fast[split].dna == full[split].dna[:n]


def test_default_folder_follows_the_data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(hmm_synthetic, "SIZES", SMALL)
    splits = load_hmm()
    assert splits.path == tmp_path / "hmm" and splits.is_synthetic
    assert all(data.split_path(tmp_path / "hmm", s).exists() for s in data.SPLITS)


def test_dataset_items_and_batches(folder):
    ds = data.HMMDataset(data.split_path(folder, "valid"), fast=False)
    assert len(ds) == SMALL["valid"]
    x, y = ds[0]
    assert x.shape == y.shape == (60,) and x.dtype == y.dtype == torch.int64
    assert x.max() <= 3 and set(y.unique().tolist()) <= {0, 1}
    assert hmm.indices_to_strings(x[None].numpy(), "ACGT")[0] == ds.split.dna[0]
    batches = list(make_loader(ds, batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 60), (4, 60), (2, 60)]


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="test.tsv"):
        data.read_split(tmp_path / "test.tsv")


def test_partial_real_data_is_named_and_never_overwritten(tmp_path, folder):
    real = tmp_path / "real"
    real.mkdir()
    (real / "train.tsv").write_text(data.split_path(folder, "train").read_text())
    with pytest.raises(IncompleteDataError, match=r"missing valid.tsv, test.tsv"):
        load_hmm(real)
    assert [p.name for p in real.iterdir()] == ["train.tsv"]


def test_cached_split_is_read_only(folder):
    split = data.read_split(data.split_path(folder, "valid"), fast=False)
    ds = data.HMMDataset(split)
    ds.bases[:] = 0
    again = data.read_split(data.split_path(folder, "valid"), fast=False)
    assert again is split and again.bases.max() == 3
    with pytest.raises(ValueError, match="read-only"):
        again.states[0, 0] = 1
    with pytest.raises(TypeError):
        again.dna[0] = "ACGT"


def test_a_reader_waits_for_the_writer_of_a_folder(tmp_path):
    """Two processes, one folder: the second waits for the first's synthetic data instead of writing its own."""
    import subprocess
    import sys
    import time

    folder = tmp_path / "hmm"
    reader = f"from course_lib.datasets import load_hmm; print(sorted(len(s) for s in load_hmm({str(folder)!r}, fast=False).values()))"
    with manifest.locked(folder):
        proc = subprocess.Popen([sys.executable, "-c", reader], stdout=subprocess.PIPE, text=True)
        time.sleep(2)
        assert proc.poll() is None, "the reader should wait while the folder is being written"
        hmm_synthetic.write_synthetic(folder, seed=1, sizes=SMALL, length=60)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.strip() == str(sorted(SMALL.values())), out
