"""JUND reader (real and synthetic files), its errors, and the synthetic writer."""
import json
import shutil
import warnings

import joblib
import numpy as np
import pytest

from conftest import shared_data
from course_lib.data import jund
from course_lib.data.jund_synthetic import JUNDGenerator, write_synthetic
from course_lib.datasets import IncompleteDataError, load_jund

SMALL = JUNDGenerator(sizes={"train": 6000, "valid": 1500, "test": 1500}, positive_fraction=0.02)


@pytest.fixture(scope="module")
def synthetic_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("jund")
    write_synthetic(d, seed=3, generator=SMALL)
    return d


def test_real_valid_split():
    d = shared_data("jund", "valid_dataset")
    with pytest.warns(jund.MissingAccessibilityWarning, match="shard-0-a.joblib"):
        split = jund.read_split(d, fast=False)
    assert split.X.shape == (34_527, 101, 4) and split.X.dtype == np.int8
    assert split.n_positives == 146
    assert np.all(split.a == 0)
    w, y = split.w.reshape(-1), split.y.reshape(-1)
    assert np.allclose(np.unique(w), [0.5021233, 118.24315], rtol=1e-5)
    assert np.isclose(w[y == 1].sum(), w[y == 0].sum(), rtol=1e-4)  # classes carry equal weight
    assert split.ids[0].startswith("chr22:")


def test_real_valid_dataset_items():
    d = shared_data("jund", "valid_dataset")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", jund.MissingAccessibilityWarning)
        ds = jund.JUNDDataset(d, fast=False)
    X, y, w, a = ds[0]
    assert X.shape == (101, 4) and y.shape == w.shape == a.shape == (1,)
    assert X.dtype == y.dtype == w.dtype == a.dtype == __import__("torch").float32
    batch = ds[[0, 1, 2]]
    assert batch[0].shape == (3, 101, 4)


def test_synthetic_layout_and_sizes(synthetic_dir):
    for name, n in SMALL.sizes.items():
        d = jund.split_dir(synthetic_dir, name)
        assert sorted(p.name for p in d.iterdir()) == sorted(
            ["shard-0-X.joblib", "shard-0-y.joblib", "shard-0-w.joblib", "shard-0-a.joblib",
             "shard-0-ids.joblib", "metadata.csv.gzip", "tasks.json"])
        split = jund.read_split(d, fast=False)
        assert len(split) == n
        assert split.n_positives == round(n * SMALL.positive_fraction)
        assert np.isclose(split.w[split.y == 1].sum(), split.w[split.y == 0].sum(), rtol=1e-5)
        assert ((split.X.sum(2) == 0).any(1)).sum() > 0, "some windows should contain N"


def test_synthetic_is_deterministic_and_cached(tmp_path, synthetic_dir):
    manifest = write_synthetic(tmp_path, seed=3, generator=SMALL)
    a = jund.read_split(jund.split_dir(tmp_path, "test"), fast=False)
    b = jund.read_split(jund.split_dir(synthetic_dir, "test"), fast=False)
    assert np.array_equal(a.X, b.X) and np.array_equal(a.a, b.a)
    mtime = (jund.split_dir(tmp_path, "test") / "shard-0-X.joblib").stat().st_mtime_ns
    assert write_synthetic(tmp_path, seed=3, generator=SMALL) == manifest
    assert (jund.split_dir(tmp_path, "test") / "shard-0-X.joblib").stat().st_mtime_ns == mtime


def test_synthetic_ceiling_is_reported_and_sane(synthetic_dir):
    manifest = json.loads((synthetic_dir / "synthetic.json").read_text())
    for split in jund.SPLITS:
        ceiling = manifest["bayes_optimal"][split]
        assert 0.7 < ceiling["weighted_accuracy"] < 1.0
        assert ceiling["auroc"] > 0.8


def test_planted_motif_is_enriched_in_positives(synthetic_dir):
    from course_lib.motifs import load_motif, log_mean_site_ratio

    split = jund.read_split(jund.split_dir(synthetic_dir, "train"), fast=False)
    idx = np.where(split.X.sum(2) == 0, -1, split.X.argmax(2))
    score = log_mean_site_ratio(idx, load_motif("MA0491.1").pwm(), SMALL.background)
    y = split.y.reshape(-1) == 1
    assert np.median(score[y]) > np.median(score[~y]) + 3


def test_fast_mode_subset(synthetic_dir, monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    split = jund.read_split(jund.split_dir(synthetic_dir, "train"))
    assert len(split) < SMALL.sizes["train"]
    assert split.n_positives >= min(jund.FAST_MIN_POSITIVES, 60)
    assert np.isclose(split.w[split.y == 1].sum(), split.w[split.y == 0].sum(), rtol=1e-4)


def _copy_split(src, dst):
    dst.mkdir()
    for p in src.iterdir():
        (dst / p.name).write_bytes(p.read_bytes())
    return dst


def test_missing_accessibility_gives_zeros_and_one_warning(tmp_path, synthetic_dir):
    d = _copy_split(jund.split_dir(synthetic_dir, "valid"), tmp_path / "valid_dataset")
    (d / "shard-0-a.joblib").unlink()
    with pytest.warns(jund.MissingAccessibilityWarning) as record:
        split = jund.read_split(d, fast=False)
    assert len(record) == 1
    assert np.all(split.a == 0)


def test_missing_x_file_is_named(tmp_path, synthetic_dir):
    d = _copy_split(jund.split_dir(synthetic_dir, "valid"), tmp_path / "valid_dataset")
    (d / "shard-0-X.joblib").unlink()
    with pytest.raises(FileNotFoundError, match="shard-0-X.joblib"):
        jund.read_split(d, fast=False)


def test_mismatched_lengths_are_named(tmp_path, synthetic_dir):
    d = _copy_split(jund.split_dir(synthetic_dir, "valid"), tmp_path / "valid_dataset")
    joblib.dump(np.zeros((10, 1)), d / "shard-0-w.joblib")
    with pytest.raises(ValueError, match=r"shard-0-w.joblib.*\(10, 1\).*expected \(1500, 1\)"):
        jund.read_split(d, fast=False)


def test_wrong_x_shape_is_named(tmp_path, synthetic_dir):
    d = _copy_split(jund.split_dir(synthetic_dir, "valid"), tmp_path / "valid_dataset")
    joblib.dump(np.zeros((5, 100, 4), np.int8), d / "shard-0-X.joblib")
    with pytest.raises(ValueError, match=r"shard-0-X.joblib.*\(5, 100, 4\).*expected \(N, 101, 4\)"):
        jund.read_split(d, fast=False)


def test_corrupt_file_is_named(tmp_path, synthetic_dir):
    d = _copy_split(jund.split_dir(synthetic_dir, "valid"), tmp_path / "valid_dataset")
    (d / "shard-0-y.joblib").write_bytes(b"not a joblib file")
    with pytest.raises(ValueError, match="shard-0-y.joblib: could not read"):
        jund.read_split(d, fast=False)


def test_missing_split_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such split folder"):
        jund.read_split(tmp_path / "nope")


def _snapshot(folder):
    return {p.relative_to(folder).as_posix(): (p.stat().st_mtime_ns, p.read_bytes())
            for p in folder.rglob("*") if p.is_file()}


def _real_split(d, n, seed=0):
    """A folder of n real-looking rows written by hand (not by course_lib: no manifest)."""
    rng = np.random.default_rng(seed)
    d.mkdir(parents=True)
    y = (np.arange(n) % 2).reshape(n, 1)
    joblib.dump(np.eye(4, dtype=np.int8)[rng.integers(0, 4, (n, 101))], d / "shard-0-X.joblib")
    joblib.dump(y, d / "shard-0-y.joblib")
    joblib.dump(np.ones((n, 1)), d / "shard-0-w.joblib")
    return d


def test_partial_real_data_is_named_and_never_overwritten(tmp_path):
    """A 7-row real train split and nothing else: an error naming the missing splits, no synthetic data."""
    _real_split(tmp_path / "train_dataset", 7)
    before = _snapshot(tmp_path)
    with pytest.raises(IncompleteDataError, match=r"missing valid_dataset/shard-0-X.joblib.*test_dataset") as err:
        load_jund(tmp_path)
    assert str(tmp_path) in str(err.value)
    assert _snapshot(tmp_path) == before
    for s in ("valid", "test"):
        _real_split(tmp_path / f"{s}_dataset", 5)
    with pytest.warns(jund.MissingAccessibilityWarning):
        splits = load_jund(tmp_path, fast=False)
    assert not splits.is_synthetic and len(splits["train"]) == 7 and "real files" in splits.describe()


def test_real_valid_split_alone_is_not_replaced(tmp_path):
    """The real copy here has only valid_dataset: loading it names the two missing splits."""
    real = shared_data("jund", "valid_dataset")
    shutil.copytree(real, tmp_path / "valid_dataset")
    before = _snapshot(tmp_path)
    with pytest.raises(IncompleteDataError, match="train_dataset/shard-0-X.joblib"):
        load_jund(tmp_path)
    assert _snapshot(tmp_path) == before


def test_a_person_s_file_in_synthetic_data_stops_a_rewrite(tmp_path):
    write_synthetic(tmp_path, seed=3, generator=SMALL)
    joblib.dump(np.zeros((3, 1)), tmp_path / "train_dataset" / "shard-0-y.joblib")  # someone's edit
    before = _snapshot(tmp_path)
    with pytest.raises(FileExistsError, match=r"changed since it wrote them: train_dataset/shard-0-y.joblib"):
        load_jund(tmp_path)
    assert _snapshot(tmp_path) == before


def test_cached_arrays_cannot_be_changed_through_a_dataset(synthetic_dir):
    d = jund.split_dir(synthetic_dir, "valid")
    ds = jund.JUNDDataset(d, fast=False)
    ds.y[:] = 1
    ds.X[:] = 0
    again = jund.read_split(d, fast=False)
    assert again.y.sum() == round(SMALL.sizes["valid"] * SMALL.positive_fraction)
    assert again.X.sum() > 0
    with pytest.raises(ValueError, match="read-only"):
        again.y[:] = 1


def test_load_jund_reads_a_synthetic_folder_as_it_is(synthetic_dir):
    splits = load_jund(synthetic_dir, fast=False)
    assert splits.is_synthetic and splits.synthetic["params"]["seed"] == 3
    assert {k: len(v) for k, v in splits.items()} == SMALL.sizes


def test_subsampled_negatives_keep_every_positive_and_an_unbiased_weighted_loss():
    import torch

    from course_lib.data.jund import JUNDDataset, JUNDSplit, SubsampledNegatives, balanced_weights

    rng = np.random.default_rng(0)
    n = 4000
    y = (rng.random((n, 1)) < 0.02).astype(np.float32)
    split = JUNDSplit(X=rng.integers(0, 2, (n, 101, 4)).astype(np.int8), y=y, w=balanced_weights(y),
                      a=rng.random((n, 1)).astype(np.float32), ids=None, source="test")
    ds = JUNDDataset(split)
    full = float((ds.w * ds.a).mean())       # a stands in for a per-window loss: the weighted mean over all windows
    sub = SubsampledNegatives(ds, 128, keep=0.1, seed=0)
    n_pos = int(y.sum())
    assert sub.epoch_size == n_pos + round(0.1 * (n - n_pos)) and len(sub) == -(-sub.epoch_size // 128)
    estimates, seen = [], set()
    for _ in range(300):
        batches = list(sub)
        assert all(b[0].dtype == torch.float32 and b[0].shape[1:] == (101, 4) for b in batches)
        X, yb, wb, ab = (torch.cat(parts) for parts in zip(*batches))
        assert len(yb) == sub.epoch_size and int(yb.sum()) == n_pos, "every bound window, every epoch"
        assert float(wb.mean()) == pytest.approx(float(ds.w.mean()), rel=1e-4), "the mean weight is kept"
        estimates.append(float((wb * ab).mean()))
        seen.update(map(float, ab[yb == 0].tolist()))
    assert np.mean(estimates) == pytest.approx(full, rel=0.005), "unbiased: on average the full weighted loss"
    assert np.std(estimates) > 0 and len(seen) > 0.9 * (n - n_pos), "each epoch draws fresh unbound windows"
    with pytest.raises(ValueError):
        SubsampledNegatives(ds, 128, keep=0)


def test_concat_splits_joins_rows_and_rebalances_the_weights(synthetic_dir):
    splits = jund.read_splits(synthetic_dir, fast=False)
    train, valid = splits["train"], splits["valid"]
    both = jund.concat_splits([train, valid])
    assert len(both) == len(train) + len(valid) and both.n_positives == train.n_positives + valid.n_positives
    assert np.array_equal(both.X[len(train):], valid.X) and np.array_equal(both.a[:len(train)], train.a)
    w, y = both.w.reshape(-1), both.y.reshape(-1)
    assert np.isclose(w[y == 1].sum(), w[y == 0].sum(), rtol=1e-4)
    assert both.ids is None or len(both.ids) == len(both)
    with pytest.raises(ValueError, match="at least one split"):
        jund.concat_splits([])
