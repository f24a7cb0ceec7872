"""The RNAcompete reader, its cache and splits, and the synthetic writer (small synthetic files)."""
from __future__ import annotations

import json
import os
import time

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats

from course_lib.data import manifest
from course_lib.data import rnacompete as rc
from course_lib.data import rnacompete_synthetic as rs
from course_lib.datasets import IncompleteDataError, load_rnacompete
from course_lib.training import make_loader

SMALL = rs.RNACompeteGenerator(n_probes=1500, n_experiments=5)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("rnacompete")
    rs.write_synthetic(d, seed=3, generator=SMALL)
    return d


def _write_matrix(path, rows, columns=("RNCMPT00168",)):
    header = "\t".join(list(rc.ID_COLUMNS) + list(columns))
    path.write_text(header + "\n" + "\n".join("\t".join(map(str, r)) for r in rows) + "\n")


def _write_metadata(path, pairs):
    pd.DataFrame({"Protein_name": [p for p, _ in pairs], "Motif_ID": [m for _, m in pairs]}).to_excel(path, index=False)


# ---------------------------------------------------------------- synthetic writer
def test_writer_layout_and_manifest(data_dir):
    header = (data_dir / rc.DATA_FILE).open().readline().rstrip("\n").split("\t")
    assert header[:3] == list(rc.ID_COLUMNS)
    assert "RNCMPT00168" in header and len(header) == 3 + SMALL.n_experiments
    meta = rc.read_metadata(data_dir / rc.METADATA_FILE)
    assert meta["RBFOX1"] == ["RNCMPT00168"]
    written = manifest.read(data_dir)
    assert set(written["oracle_spearman"]) == set(rc.SPLITS)
    assert all(0.3 < v < 0.95 for v in written["oracle_spearman"].values())
    table = pd.read_csv(data_dir / rc.DATA_FILE, sep="\t")
    assert set(table["Probe_Set"]) == {"SetA", "SetB"}
    assert table["RNA_Seq"].str.len().max() <= 41 and table["RNA_Seq"].str.fullmatch("[ACGUN]+").all()
    assert table["RNCMPT00168"].isna().any(), "NaNs should be sprinkled in"


def test_writer_is_cached_and_deterministic(data_dir, tmp_path):
    stamp = (data_dir / rc.DATA_FILE).stat().st_mtime_ns
    rs.write_synthetic(data_dir, seed=3, generator=SMALL)
    assert (data_dir / rc.DATA_FILE).stat().st_mtime_ns == stamp
    rs.write_synthetic(tmp_path, seed=3, generator=SMALL)
    assert (tmp_path / rc.DATA_FILE).read_bytes() == (data_dir / rc.DATA_FILE).read_bytes()


def test_motif_drives_rbfox1_intensity(data_dir):
    """Probes with UGCAUG bind more; the oracle recomputed from the saved truth matches the manifest."""
    matrix = rc.load_matrix(data_dir / rc.DATA_FILE)
    values = matrix.column("RNCMPT00168")
    codes = rs.kmer_codes(matrix.seqs, 6)
    has_site = (codes == rs._kmer_code("UGCAUG")).any(1)
    ok = np.isfinite(values)
    assert np.median(values[ok & has_site]) > 2 * np.median(values[ok & ~has_site])
    mu = np.load(data_dir / rs.EXPECTED_FILE)
    splits = load_rnacompete(data_dir, fast=False)
    test = splits["test"]
    keep = test.mask[:, 0] > 0
    rho = stats.spearmanr(mu[test.rows][keep], test.y[keep, 0]).statistic
    assert rho == pytest.approx(manifest.read(data_dir)["oracle_spearman"]["test"], abs=1e-6)


# ---------------------------------------------------------------- reader and splits
def test_splits_follow_the_sets(data_dir):
    splits = load_rnacompete(data_dir, fast=False)
    matrix = rc.load_matrix(data_dir / rc.DATA_FILE)
    set_a = np.flatnonzero(matrix.in_set_a)
    tr, va, te = (splits[s].rows for s in rc.SPLITS)
    assert np.array_equal(np.sort(np.concatenate([tr, va])), set_a)
    assert len(va) == round(0.2 * len(set_a))
    assert np.array_equal(te, np.flatnonzero(~matrix.in_set_a))
    again = load_rnacompete(data_dir, fast=False)
    assert np.array_equal(again["valid"].rows, va), "the shuffle must use a fixed seed"
    other = load_rnacompete(data_dir, fast=False, seed=1)
    assert not np.array_equal(other["valid"].rows, va)


def test_targets_are_clipped_logged_standardized(data_dir):
    splits = load_rnacompete(data_dir, fast=False)
    train = splits["train"]
    raw = rc.load_matrix(data_dir / rc.DATA_FILE).column("RNCMPT00168")[train.rows].astype(np.float64)
    observed = np.isfinite(raw)
    assert np.array_equal(train.mask[:, 0] > 0, observed)
    assert np.all(train.y[~observed] == 0)
    y = train.y[observed, 0]
    assert y.mean() == pytest.approx(0, abs=1e-5) and y.std() == pytest.approx(1, abs=1e-4)
    # independent recomputation
    upper = np.percentile(raw[observed], 99.95)
    clipped = np.minimum(raw[observed], upper)
    logged = np.log(clipped - clipped.min() + 1)
    assert np.allclose(y, (logged - logged.mean()) / logged.std(), atol=1e-4)
    assert (y == y.max()).sum() >= 1  # clipped values tie at the top


def test_one_hot_padding_and_n():
    seqs = rc.encode_sequences(["ACGU", "NNAC", "acgt"])
    assert seqs.shape == (3, 41) and seqs.dtype == np.int8
    x = rc.one_hot_probes(seqs)
    assert x.shape == (3, 41, 4)
    assert np.array_equal(x[0, :4], np.eye(4))
    assert np.allclose(x[1, :2], 0.25) and np.array_equal(x[1, 2:4], np.eye(4)[[0, 1]])
    assert np.array_equal(x[2, :4], np.eye(4)), "lower case and T are read as RNA"
    assert np.all(x[:, 4:] == 0), "padding is all zeros"


def test_dataset_items_and_batches(data_dir):
    split = load_rnacompete(data_dir, fast=False)["valid"]
    ds = rc.RNACompeteDataset(split)
    x, y, mask = ds[0]
    assert x.shape == (41, 4) and y.shape == (1,) and mask.shape == (1,)
    assert x.dtype == y.dtype == mask.dtype == torch.float32
    xb, yb, mb = ds[[0, 2, 5]]
    assert xb.shape == (3, 41, 4) and yb.shape == (3, 1) and mb.shape == (3, 1)
    batches = list(make_loader(ds, 64))
    assert sum(len(b[0]) for b in batches) == len(ds)


def test_fast_mode_shrinks(data_dir, monkeypatch):
    full = load_rnacompete(data_dir, fast=False)
    monkeypatch.setattr(rc, "FAST_ROWS", {"train": 100, "valid": 30, "test": 40})
    monkeypatch.setenv("COURSE_FAST", "1")
    small = load_rnacompete(data_dir)
    assert [len(small[s]) for s in rc.SPLITS] == [100, 30, 40]
    assert set(small["train"].rows) <= set(full["train"].rows)
    # statistics come from the whole training split, so targets agree row by row
    where = {row: i for i, row in enumerate(full["train"].rows)}
    pos = [where[row] for row in small["train"].rows]
    assert np.allclose(full["train"].y[pos], small["train"].y)


def test_any_protein_by_name_or_id(data_dir):
    meta = manifest.read(data_dir)["experiments"]
    other = meta[2]
    by_name = load_rnacompete(data_dir, protein=other["protein"], fast=False)
    by_id = load_rnacompete(data_dir, protein=other["experiment"], fast=False)
    assert by_name["test"].experiment == other["experiment"]
    assert np.array_equal(by_name["test"].y, by_id["test"].y)
    assert load_rnacompete(data_dir, protein="rbfox1", fast=False)["test"].experiment == "RNCMPT00168"


# ---------------------------------------------------------------- errors
def test_unknown_protein_lists_close_matches(data_dir):
    with pytest.raises(KeyError, match="RBFOX1"):
        load_rnacompete(data_dir, protein="RBFOX", fast=False)


def test_metadata_id_missing_from_matrix(tmp_path):
    _write_matrix(tmp_path / rc.DATA_FILE, [("SetA", "p1", "ACGU", 1.0), ("SetB", "p2", "GGCU", 2.0)])
    _write_metadata(tmp_path / rc.METADATA_FILE, [("RBFOX1", "RNCMPT00168"), ("QKI", "RNCMPT00999")])
    with pytest.raises(KeyError, match=r"RNCMPT00999.*close matches: RNCMPT00168"):
        load_rnacompete(tmp_path, protein="QKI", fast=False)


@pytest.mark.parametrize("rows, columns, match", [
    ([("SetC", "p1", "ACGU", 1.0)], ("RNCMPT00168",), "Probe_Set 'SetC'"),
    ([("SetA", "p1", "ACGX", 1.0)], ("RNCMPT00168",), r"row 0 .*'X'"),
    ([("SetA", "p1", "A" * 42, 1.0)], ("RNCMPT00168",), "42 nt"),
    ([("SetA", "p1", "ACGU", "high")], ("RNCMPT00168",), "RNCMPT00168 holds text"),
])
def test_bad_rows_are_clear_errors(tmp_path, rows, columns, match):
    _write_matrix(tmp_path / rc.DATA_FILE, rows, columns)
    with pytest.raises(ValueError, match=match):
        rc.parse_norm_data(tmp_path / rc.DATA_FILE)


def test_missing_columns_and_files(tmp_path):
    (tmp_path / rc.DATA_FILE).write_text("Probe_ID\tRNA_Seq\tRNCMPT00168\np1\tACGU\t1.0\n")
    with pytest.raises(ValueError, match="Probe_Set"):
        rc.parse_norm_data(tmp_path / rc.DATA_FILE)
    with pytest.raises(FileNotFoundError, match="metadata"):
        rc.read_metadata(tmp_path / "nope.xlsx")
    with pytest.raises(FileNotFoundError, match="norm_data"):
        rc.load_matrix(tmp_path / "absent" / rc.DATA_FILE)
    pd.DataFrame({"Protein": ["RBFOX1"], "Motif_ID": ["RNCMPT00168"]}).to_excel(tmp_path / "m.xlsx", index=False)
    with pytest.raises(ValueError, match="Protein_name"):
        rc.read_metadata(tmp_path / "m.xlsx")


# ---------------------------------------------------------------- cache
def test_cache_reload_skips_parsing(tmp_path, monkeypatch):
    rs.write_synthetic(tmp_path, seed=4, generator=SMALL)
    path = tmp_path / rc.DATA_FILE
    first = rc.load_matrix(path)
    assert (rc.cache_dir_for(path) / "key.json").exists()
    rc._load_matrix_cached.cache_clear()

    def no_parsing(p):
        raise AssertionError("parsed again although a valid cache exists")
    monkeypatch.setattr(rc, "parse_norm_data", no_parsing)
    start = time.perf_counter()
    again = rc.load_matrix(path)
    assert time.perf_counter() - start < 1.0
    assert again.experiments == first.experiments
    assert np.array_equal(again.seqs, first.seqs)
    assert np.array_equal(again.column("RNCMPT00168"), first.column("RNCMPT00168"), equal_nan=True)
    assert np.array_equal(again.in_set_a, first.in_set_a)


def test_cache_is_invalidated_when_the_file_changes(tmp_path):
    _write_matrix(tmp_path / rc.DATA_FILE, [("SetA", "p1", "ACGU", 1.0), ("SetB", "p2", "GGCU", 2.0)])
    path = tmp_path / rc.DATA_FILE
    assert rc.load_matrix(path).column("RNCMPT00168").tolist() == [1.0, 2.0]
    _write_matrix(path, [("SetA", "p1", "ACGU", 5.0), ("SetB", "p2", "GGCU", 2.0), ("SetB", "p3", "UU", 3.0)])
    os.utime(path, ns=(time.time_ns() + 10**9, time.time_ns() + 10**9))
    assert rc.load_matrix(path).column("RNCMPT00168").tolist() == [5.0, 2.0, 3.0]
    key = json.loads((rc.cache_dir_for(path) / "key.json").read_text())
    assert key["size"] == path.stat().st_size


def test_nan_cells_read_as_missing(tmp_path):
    (tmp_path / rc.DATA_FILE).write_text(
        "Probe_Set\tProbe_ID\tRNA_Seq\tRNCMPT00168\tRNCMPT00001\n"
        "SetA\tp1\tACGU\tNaN\t1.5\nSetA\tp2\tAC\t\t2.5\nSetB\tp3\tGG\t3.0\t\n")
    matrix = rc.load_matrix(tmp_path / rc.DATA_FILE, use_cache=False)
    assert np.isnan(matrix.column("RNCMPT00168")[:2]).all() and matrix.column("RNCMPT00168")[2] == 3.0
    assert np.isnan(matrix.column("RNCMPT00001")[2])


# ---------------------------------------------------------------- real files (absent here: skipped)
def test_real_rnacompete_files_if_present():
    from conftest import shared_data

    folder = shared_data("rnacompete")
    splits = load_rnacompete(folder, protein="RBFOX1", fast=True)
    assert splits["test"].experiment == "RNCMPT00168"
    assert all(len(s) > 0 for s in splits.values())
    x, y, mask = rc.RNACompeteDataset(splits["valid"])[[0, 1]]
    assert x.shape == (2, 41, 4) and y.shape == mask.shape == (2, 1)


# ---------------------------------------------------------------- real data is never written to
def test_real_matrix_without_metadata_is_named_not_replaced(tmp_path):
    """Only metadata.xlsx missing: the error names it; the real norm_data.txt stays as it was."""
    _write_matrix(tmp_path / rc.DATA_FILE, [("SetA", "p1", "ACGU", 1.0), ("SetB", "p2", "GGCU", 2.0)])
    before = (tmp_path / rc.DATA_FILE).read_bytes()
    with pytest.raises(IncompleteDataError, match="missing metadata.xlsx"):
        load_rnacompete(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [rc.DATA_FILE]
    assert (tmp_path / rc.DATA_FILE).read_bytes() == before


def test_parse_cache_is_kept_outside_the_data_folder(tmp_path):
    _write_matrix(tmp_path / rc.DATA_FILE, [("SetA", "p1", "ACGU", 1.0), ("SetB", "p2", "GGCU", 2.0)])
    _write_metadata(tmp_path / rc.METADATA_FILE, [("RBFOX1", "RNCMPT00168")])
    matrix = rc.load_matrix(tmp_path / rc.DATA_FILE)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([rc.DATA_FILE, rc.METADATA_FILE])
    assert not rc.cache_dir_for(tmp_path / rc.DATA_FILE).is_relative_to(tmp_path)
    with pytest.raises(ValueError, match="read-only"):
        matrix.seqs[0, 0] = 3
    assert rc.load_matrix(tmp_path / rc.DATA_FILE).seqs[0, 0] == 0  # A, as written
