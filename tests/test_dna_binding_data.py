"""The binding-site CSV reader, the fixed split and the synthetic writer."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import shared_data
from course_lib.data import dna_binding, manifest
from course_lib.data.dna_binding_synthetic import BindingGenerator, write_synthetic
from course_lib.datasets import IncompleteDataError, load_dna_binding


@pytest.fixture(scope="module")
def synthetic_csv(tmp_path_factory):
    folder = tmp_path_factory.mktemp("dna")
    write_synthetic(folder, seed=0)
    return folder / dna_binding.FILE_NAME


def test_real_csv_reads_with_its_unnamed_index():
    df = dna_binding.read_csv(shared_data("dna_binding", "dna_binding.csv"))
    assert list(df.columns) == ["seq", "bind"]
    assert len(df) == dna_binding.REAL_ROWS
    assert df["seq"].str.len().eq(dna_binding.SEQ_LEN).all()
    assert df["bind"].mean() == pytest.approx(0.5, abs=0.01)


def test_real_split_sizes():
    splits = load_dna_binding(shared_data("dna_binding", "dna_binding.csv"), fast=False)
    assert {k: len(v) for k, v in splits.items()} == {"train": 9291, "valid": 1032, "test": 2581}


def test_synthetic_file_has_the_real_format(synthetic_csv):
    assert synthetic_csv.read_text().splitlines()[0] == ",seq,bind"
    df = dna_binding.read_csv(synthetic_csv)
    assert len(df) == dna_binding.REAL_ROWS and df["bind"].mean() == 0.5
    assert df["seq"].str.len().eq(dna_binding.SEQ_LEN).all()


def test_synthetic_signal_like_the_real_file(synthetic_csv):
    df = dna_binding.read_csv(synthetic_csv)
    has_site = df["seq"].str.contains("CACGTG")
    assert 0.4 < has_site[df["bind"] == 1].mean() < 0.6       # real file: 0.45
    assert has_site[df["bind"] == 0].mean() < 0.08            # real file: 0.02
    assert 0.75 < manifest.read(synthetic_csv.parent)["oracle_auroc"] < 0.85             # not saturated, like the real task


def test_synthetic_writer_is_cached_and_deterministic(tmp_path, synthetic_csv):
    mtime = synthetic_csv.stat().st_mtime_ns
    write_synthetic(synthetic_csv.parent, seed=0)
    assert synthetic_csv.stat().st_mtime_ns == mtime
    small = BindingGenerator(n_rows=200)
    write_synthetic(tmp_path / "a", seed=3, generator=small)
    write_synthetic(tmp_path / "b", seed=3, generator=small)
    assert (tmp_path / "a" / "dna_binding.csv").read_text() == (tmp_path / "b" / "dna_binding.csv").read_text()


def test_split_is_disjoint_complete_and_fixed():
    a, b = dna_binding.split_indices(1000), dna_binding.split_indices(1000)
    assert all(np.array_equal(a[k], b[k]) for k in a)
    allrows = np.concatenate(list(a.values()))
    assert np.array_equal(np.sort(allrows), np.arange(1000))
    assert (len(a["train"]), len(a["valid"]), len(a["test"])) == (720, 80, 200)


def test_synthetic_splits_are_balanced(synthetic_csv):
    for fast in (False, True):
        for name, part in load_dna_binding(synthetic_csv, fast=fast).items():
            assert part["bind"].mean() == pytest.approx(0.5, abs=0.05), (name, fast)


def test_fast_mode_shrinks_every_split(synthetic_csv, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    sizes = {k: len(v) for k, v in load_dna_binding(synthetic_csv).items()}
    assert sizes == dna_binding.FAST_ROWS


@pytest.mark.parametrize("text, message", [
    ("seq,label\nACGT,1\n", "missing column"),
    (",seq,bind\n0,ACGN,1\n", "letter other than"),
    (",seq,bind\n0,ACGT,2\n", "only 0 and 1"),
])
def test_bad_files_name_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=message) as err:
        dna_binding.read_csv(path)
    assert "bad.csv" in str(err.value)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        dna_binding.read_csv(tmp_path / "nope.csv")


def test_file_without_index_column(tmp_path):
    path = tmp_path / "plain.csv"
    pd.DataFrame({"seq": ["acgt", "TTTT"], "bind": [1, 0]}).to_csv(path, index=False)
    df = dna_binding.read_csv(path)
    assert df["seq"].tolist() == ["ACGT", "TTTT"] and df["bind"].tolist() == [1, 0]


def test_partial_real_data_is_named_and_never_overwritten(tmp_path):
    """A folder with a CSV of another name: the error names dna_binding.csv; the file stays as it was."""
    theirs = tmp_path / "binding_sites.csv"
    theirs.write_text(",seq,bind\n" + "".join(f"{i},ACGT,{i % 2}\n" for i in range(20)))
    with pytest.raises(IncompleteDataError, match="missing dna_binding.csv"):
        load_dna_binding(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["binding_sites.csv"]
    splits = load_dna_binding(theirs, fast=False)  # the file itself can be named
    assert sum(len(part) for part in splits.values()) == 20 and not splits.is_synthetic
