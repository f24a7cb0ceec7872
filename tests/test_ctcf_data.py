"""CTCF readers: the real ENCODE text file, synthetic HDF5 in Koo's layout, errors, fast mode, Dataset."""
import dataclasses
import shutil

import h5py
import numpy as np
import pytest
import torch

from course_lib import datasets
from course_lib.data import ctcf, manifest
from course_lib.data.ctcf_synthetic import CTCFGenerator, write_synthetic
from course_lib.datasets import IncompleteDataError, load_ctcf
from course_lib.encoding import one_hot_to_string
from course_lib.training import make_loader
from conftest import shared_data

SMALL = CTCFGenerator(sizes={"train": 300, "valid": 60, "test": 80})


@pytest.fixture(scope="module")
def small_h5(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ctcf")
    write_synthetic(folder, seed=3, generator=SMALL, progress=False)
    return folder / ctcf.H5_NAME


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
    parts = load_ctcf(real_text, fast=False, seed=0)
    sizes = {k: len(v) for k, v in parts.items()}
    assert sizes == {"train": 10_800, "valid": 1350, "test": 1350}
    names = [set(v.names) for v in parts.values()]
    assert not (names[0] & names[1]) and not (names[0] & names[2]) and not (names[1] & names[2])
    again = load_ctcf(real_text, fast=False, seed=0)
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
    carriers = []
    for split, n in SMALL.sizes.items():
        s = splits[split]
        assert s.X.shape == (n, 200, 4) and s.y.shape == (n, 1)
        assert (s.X.sum(-1) == 1).all()
        assert s.n_positives == n // 2
        negatives = s.y[:, 0] == 0
        assert (s.motif_pos[negatives] == -1).all()
        carriers.append(s.motif_pos[~negatives] >= 0)
    # site_rate 0.9; pooled over the 220 positives (one split's 30-150 are too few for a tight bound)
    assert 0.8 < np.concatenate(carriers).mean() < 0.97


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


def test_negatives_are_resampled_site_carriers(small_h5):
    """Negatives are resampled site carriers, not plain background: on average they are as GC-rich as positives."""
    s = ctcf.read_h5(small_h5)["train"]
    gc = s.X[..., 1:3].sum((1, 2)) / s.X.shape[1]
    pos, neg = gc[s.y[:, 0] == 1], gc[s.y[:, 0] == 0]
    assert abs(pos.mean() - neg.mean()) < 0.02


def test_synthetic_is_cached_and_deterministic(tmp_path, small_h5):
    first = manifest.read(small_h5.parent)
    mtime = small_h5.stat().st_mtime_ns
    assert write_synthetic(small_h5.parent, seed=3, generator=SMALL, progress=False) == first
    assert small_h5.stat().st_mtime_ns == mtime  # not rewritten
    write_synthetic(tmp_path, seed=3, generator=SMALL, progress=False)
    other = tmp_path / ctcf.H5_NAME
    a, b = ctcf.read_h5(small_h5), ctcf.read_h5(other)
    assert np.array_equal(a["test"].X, b["test"].X) and np.array_equal(a["test"].motif_pos, b["test"].motif_pos)
    assert 0.7 < first["pwm_scan_auroc"]["test"] <= 1.0


def test_default_folder_gets_synthetic_data(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    tiny = CTCFGenerator(sizes={"train": 100, "valid": 40, "test": 40})
    source = dataclasses.replace(datasets.SOURCES["ctcf"], write=lambda folder, seed=0: write_synthetic(
        folder, seed=seed, generator=tiny, progress=False))
    monkeypatch.setitem(datasets.SOURCES, "ctcf", source)
    splits = load_ctcf(fast=False)
    assert splits.path == tmp_path / "ctcf" and (tmp_path / "ctcf" / "CTCF_200.h5").exists()
    assert splits.is_synthetic and 0.7 < splits.synthetic["pwm_scan_auroc"]["test"] <= 1
    assert {k: len(v) for k, v in splits.items()} == {"train": 100, "valid": 40, "test": 40}


def test_fast_mode_shrinks(small_h5, monkeypatch):
    monkeypatch.setattr(ctcf, "FAST_ROWS", {"train": 200, "valid": 50, "test": 50})
    full = ctcf.read_h5(small_h5)
    small = ctcf.shrink(full)
    assert {k: len(v) for k, v in small.items()} == {"train": 200, "valid": 50, "test": 50}
    assert small["train"].n_positives == 100
    monkeypatch.setenv("COURSE_FAST", "1")
    assert len(load_ctcf(small_h5)["train"]) == 200


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
        load_ctcf(tmp_path / "nothing.txt")
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
    parts = load_ctcf(path, fast=False)
    assert [len(p) for p in parts.values()] == [40, 5, 5]
    with pytest.raises(ValueError, match="fractions"):
        ctcf.split_rows(ctcf.read_text(path), fractions=(0.5, 0.5, 0.5))


def test_partial_real_data_is_named_and_never_overwritten(tmp_path):
    """A folder with someone's file but no CTCF data: the error names what is read; nothing is written."""
    (tmp_path / "peaks.bed").write_text("chr1\t100\t300\n")
    with pytest.raises(IncompleteDataError, match=r"missing CTCF_200.h5 \(or, instead, \*.txt\)"):
        load_ctcf(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["peaks.bed"]
    for name in ("a.txt", "b.txt"):
        (tmp_path / name).write_text(">s1 ACGT 1\n")
    with pytest.raises(FileNotFoundError, match="found a.txt, b.txt"):
        load_ctcf(tmp_path)


def test_a_real_file_next_to_synthetic_data_is_not_ignored(small_h5, tmp_path):
    folder = tmp_path / "ctcf"
    shutil.copytree(small_h5.parent, folder)
    (folder / "ctcf_ENCSR000AQU.txt").write_text(">s1 ACGT 1\n>s2 TGCA 0\n")
    with pytest.raises(FileExistsError, match="did not write: ctcf_ENCSR000AQU.txt"):
        load_ctcf(folder)


def test_cached_split_is_read_only(small_h5):
    split = ctcf.read_h5(small_h5)["valid"]
    ds = ctcf.CTCFDataset(split)
    ds.y[:] = 1
    assert ctcf.read_h5(small_h5)["valid"].n_positives == SMALL.sizes["valid"] // 2
    with pytest.raises(ValueError, match="read-only"):
        split.X[0, 0, 0] = 1


def test_the_classic_ctcf_core_reads_on_the_strand_of_the_jaspar_logo():
    """What the notebook says (and shades): CCGCGNGGNGGCAG fits MA0139.1 as drawn, at positions 4-17."""
    from course_lib.motifs import load_motif, place_consensus, reverse_complement

    motif = load_motif("MA0139.1")
    fit = place_consensus(motif, "CCGCGNGGNGGCAG")
    (same, start), (other, _) = fit["same strand"], fit["other strand"]
    assert start == 3 and same > 10 and other < 0, fit
    assert place_consensus(motif, reverse_complement("CCGCGNGGNGGCAG"))["other strand"] == fit["same strand"]
    assert place_consensus(motif, motif.consensus())["same strand"][1] == 0
