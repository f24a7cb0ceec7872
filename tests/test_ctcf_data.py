"""CTCF readers: the real ENCODE text file, synthetic HDF5 in Koo's layout, errors, fast mode, Dataset."""
import h5py
import numpy as np
import pytest
import torch

from course_lib.data import ctcf
from course_lib.data.ctcf_synthetic import CTCFGenerator, read_attributes, write_synthetic
from course_lib.encoding import one_hot_to_string
from course_lib.training import make_loader
from conftest import shared_data

SMALL = CTCFGenerator(sizes={"train": 300, "valid": 60, "test": 80})


@pytest.fixture(scope="module")
def small_h5(tmp_path_factory):
    path = tmp_path_factory.mktemp("ctcf") / "CTCF_200.h5"
    write_synthetic(path, seed=3, generator=SMALL, progress=False)
    return path


@pytest.mark.realdata
def test_real_text_file():
    real_text = shared_data("ctcf_encode", "ctcf_ENCSR000AQU.txt")
    split = ctcf.read_text(real_text)
    assert split.X.shape == (13_500, 101, 4) and split.X.dtype == np.int8
    assert split.y.shape == (13_500, 1)
    assert split.n_positives == 6725
    negative_names = split.names[split.y[:, 0] == 0]
    assert all(name.endswith("_shuf") for name in negative_names)
    first = real_text.read_text().splitlines()[0].split()
    assert one_hot_to_string(split.X[0]) == first[1] and split.names[0] == first[0][1:]
    parts = ctcf.load_splits(real_text, fast=False, seed=0)
    sizes = {k: len(v) for k, v in parts.items()}
    assert sizes == {"train": 10_800, "valid": 1350, "test": 1350}
    names = [set(v.names) for v in parts.values()]
    assert not (names[0] & names[1]) and not (names[0] & names[2]) and not (names[1] & names[2])
    again = ctcf.load_splits(real_text, fast=False, seed=0)
    assert np.array_equal(again["test"].names, parts["test"].names)


def test_synthetic_h5_layout(small_h5):
    with h5py.File(small_h5, "r") as fh:
        for split, n in SMALL.sizes.items():
            assert fh[f"x_{split}"].shape == (n, 4, 200)  # Koo's layout: channels first
            assert fh[f"y_{split}"].shape == (n, 1)
            assert fh[f"motif_pos_{split}"].shape == (n,)
        stored = fh["x_valid"][()]
    splits = ctcf.read_h5(small_h5)
    assert np.array_equal(splits["valid"].X, stored.transpose(0, 2, 1))
    for split, n in SMALL.sizes.items():
        s = splits[split]
        assert s.X.shape == (n, 200, 4) and s.y.shape == (n, 1)
        assert (s.X.sum(-1) == 1).all()
        assert s.n_positives == n // 2
        negatives = s.y[:, 0] == 0
        assert (s.motif_pos[negatives] == -1).all()
        assert (s.motif_pos[~negatives] >= 0).mean() > 0.75


def test_planted_sites_match_ctcf(small_h5):
    """At the recorded positions the sequence scores far above chance under the CTCF PWM."""
    from course_lib.motifs import load_motif, reverse_complement_pwm, site_log_odds

    s = ctcf.read_h5(small_h5)["train"]
    rows = np.flatnonzero(s.motif_pos >= 0)
    seqs = s.X.argmax(-1).astype(np.int8)
    pwm = load_motif("MA0139.1").pwm()
    cols = s.motif_pos[rows, None] + np.arange(len(pwm))[None]
    sites = seqs[rows[:, None], cols]
    best = np.maximum(site_log_odds(sites, pwm)[:, 0], site_log_odds(sites, reverse_complement_pwm(pwm))[:, 0])
    random_sites = np.random.default_rng(0).integers(0, 4, sites.shape).astype(np.int8)
    assert np.median(best) > np.median(site_log_odds(random_sites, pwm)[:, 0]) + 10


def test_negatives_are_dinucleotide_shuffles_of_site_carriers(small_h5):
    """Negatives are shuffled, not plain background: on average they are as GC-rich as positives."""
    s = ctcf.read_h5(small_h5)["train"]
    gc = s.X[..., 1:3].sum((1, 2)) / s.X.shape[1]
    pos, neg = gc[s.y[:, 0] == 1], gc[s.y[:, 0] == 0]
    assert abs(pos.mean() - neg.mean()) < 0.02


def test_synthetic_is_cached_and_deterministic(tmp_path, small_h5):
    first = read_attributes(small_h5)
    mtime = small_h5.stat().st_mtime_ns
    assert write_synthetic(small_h5, seed=3, generator=SMALL, progress=False) == first
    assert small_h5.stat().st_mtime_ns == mtime  # not rewritten
    other = tmp_path / "again.h5"
    write_synthetic(other, seed=3, generator=SMALL, progress=False)
    a, b = ctcf.read_h5(small_h5), ctcf.read_h5(other)
    assert np.array_equal(a["test"].X, b["test"].X) and np.array_equal(a["test"].motif_pos, b["test"].motif_pos)
    assert 0.7 < first["pwm_scan_auroc"]["test"] <= 1.0


def test_default_path_uses_synthetic(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    tiny = CTCFGenerator(sizes={"train": 100, "valid": 40, "test": 40})
    original = write_synthetic
    monkeypatch.setattr("course_lib.data.ctcf_synthetic.write_synthetic",
                        lambda path, seed=0: original(path, seed=seed, generator=tiny, progress=False))
    splits = ctcf.load_splits(fast=False)
    assert ctcf.default_path() == tmp_path / "ctcf" / "CTCF_200.h5" and ctcf.default_path().exists()
    assert {k: len(v) for k, v in splits.items()} == {"train": 100, "valid": 40, "test": 40}


def test_fast_mode_shrinks(small_h5, monkeypatch):
    monkeypatch.setattr(ctcf, "FAST_ROWS", {"train": 200, "valid": 50, "test": 50})
    full = ctcf.read_h5(small_h5)
    small = ctcf.shrink(full)
    assert {k: len(v) for k, v in small.items()} == {"train": 200, "valid": 50, "test": 50}
    assert small["train"].n_positives == 100
    monkeypatch.setenv("COURSE_FAST", "1")
    assert len(ctcf.load_splits(small_h5)["train"]) == 200


def test_dataset_batches(small_h5):
    ds = ctcf.CTCFDataset(ctcf.read_h5(small_h5)["valid"])
    X, y = ds[3]
    assert X.shape == (200, 4) and X.dtype == torch.float32 and y.shape == (1,)
    Xb, yb = next(iter(make_loader(ds, batch_size=16)))
    assert Xb.shape == (16, 200, 4) and yb.shape == (16, 1)
    assert len(ds) == 60
    with pytest.raises(TypeError, match="CTCFSplit"):
        ctcf.CTCFDataset(small_h5)


def test_errors_name_file_and_expectation(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.txt"):
        ctcf.load_splits(tmp_path / "nothing.txt")
    bad = tmp_path / "bad.txt"
    bad.write_text(">a ACGT 1\n>b ACGT\n")
    with pytest.raises(ValueError, match=r"bad.txt:2: expected '>name SEQUENCE label'"):
        ctcf.read_text(bad)
    ragged = tmp_path / "ragged.txt"
    ragged.write_text(">a ACGT 1\n>b ACG 0\n")
    with pytest.raises(ValueError, match=r"ragged.txt:2: sequence of length 3, expected 4"):
        ctcf.read_text(ragged)
    letter = tmp_path / "letter.txt"
    letter.write_text(">a ACXT 1\n")
    with pytest.raises(ValueError, match=r"letter.txt:1: invalid letter 'X'"):
        ctcf.read_text(letter)
    h5 = tmp_path / "partial.h5"
    with h5py.File(h5, "w") as fh:
        fh["x_train"] = np.zeros((3, 4, 10), np.float32)
        fh["y_train"] = np.zeros((3, 1), np.float32)
    with pytest.raises(KeyError, match="partial.h5: no dataset 'x_valid'"):
        ctcf.read_h5(h5)
    wrong = tmp_path / "wrong.h5"
    with h5py.File(wrong, "w") as fh:
        for split in ctcf.SPLITS:
            fh[f"x_{split}"] = np.zeros((3, 10, 4), np.float32)  # channels last: wrong layout
            fh[f"y_{split}"] = np.zeros((3, 1), np.float32)
    with pytest.raises(ValueError, match=r"wrong.h5: x_train has shape \(3, 10, 4\), expected \(N, 4, L\)"):
        ctcf.read_h5(wrong)
    labels = tmp_path / "labels.h5"
    with h5py.File(labels, "w") as fh:
        for split in ctcf.SPLITS:
            fh[f"x_{split}"] = np.zeros((3, 4, 10), np.float32)
            fh[f"y_{split}"] = np.full((3, 1), 2.0, np.float32)
    with pytest.raises(ValueError, match="labels.h5: y_train: labels must be 0 or 1"):
        ctcf.read_h5(labels)
    not_h5 = tmp_path / "text.h5"
    not_h5.write_text("hello")
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        ctcf.read_h5(not_h5)


def test_text_split_fractions(tmp_path):
    path = tmp_path / "toy.txt"
    rng = np.random.default_rng(0)
    lines = [f">s{i}{'_shuf' if i % 2 else ''} {''.join(rng.choice(list('ACGT'), 20))} {1 - i % 2}" for i in range(50)]
    path.write_text("\n".join(lines) + "\n")
    parts = ctcf.load_splits(path, fast=False)
    assert [len(p) for p in parts.values()] == [40, 5, 5]
    with pytest.raises(ValueError, match="fractions"):
        ctcf.split_rows(ctcf.read_text(path), fractions=(0.5, 0.5, 0.5))
