"""Nuclei readers (course tarball, flat folder, Kaggle DSB folders), split, and the synthetic writer."""
from __future__ import annotations

import tarfile

import numpy as np
import pytest
from PIL import Image

from conftest import shared_data
from course_lib.data import nuclei
from course_lib.data.nuclei_synthetic import NucleiGenerator, write_synthetic
from course_lib.datasets import IncompleteDataError, load_nuclei


@pytest.fixture(scope="module")
def synthetic_tar(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nuclei")
    write_synthetic(folder, seed=0, generator=NucleiGenerator(n_images=12))
    return folder / nuclei.TARBALL


def test_real_tarball_has_334_binary_pairs(tmp_path):
    pairs = nuclei.pairs_from(shared_data("nuclei", nuclei.TARBALL), cache_dir=tmp_path)
    assert len(pairs) == 334
    image, mask = nuclei.read_image(pairs[0][0]), nuclei.read_mask(pairs[0][1])
    assert image.shape == mask.shape == (256, 256) and image.dtype == np.float32
    assert 0 <= image.min() and image.max() <= 1
    assert set(np.unique(mask)) <= {0.0, 1.0} and 0 < mask.mean() < 0.5


def test_synthetic_masks_survive_jpeg(synthetic_tar, tmp_path):
    pairs = nuclei.pairs_from(synthetic_tar, cache_dir=tmp_path)
    assert len(pairs) == 12 and pairs[0][0].name == "0_cells.jpg" and pairs[10][1].name == "10_masks.jpg"
    _, exact = NucleiGenerator(n_images=12).sample(np.random.default_rng(0))
    assert np.array_equal(nuclei.read_mask(pairs[0][1]), exact.astype(np.float32))
    with tarfile.open(synthetic_tar) as tar:
        assert all(name.startswith("cell_segmentation/") for name in tar.getnames())


def test_synthetic_images_have_touching_nuclei_and_uneven_background():
    image, mask = NucleiGenerator().sample(np.random.default_rng(1))
    assert image.shape == (256, 256) and image.dtype == np.uint8
    assert 0.02 < mask.mean() < 0.3
    background = image[~mask].astype(float)
    assert image[mask].mean() > background.mean() + 20
    from scipy import ndimage
    n_blobs = ndimage.label(mask)[1]
    assert n_blobs >= 3


def test_synthetic_writer_is_cached(synthetic_tar):
    mtime = synthetic_tar.stat().st_mtime_ns
    write_synthetic(synthetic_tar.parent, seed=0, generator=NucleiGenerator(n_images=12))
    assert synthetic_tar.stat().st_mtime_ns == mtime


def _write_dsb(root, name, shape, boxes):
    (root / name / "images").mkdir(parents=True)
    (root / name / "masks").mkdir()
    rgba = np.zeros(shape + (4,), np.uint8)
    rgba[..., 3] = 255
    for k, (r0, r1, c0, c1) in enumerate(boxes):
        rgba[r0:r1, c0:c1, :3] = 200
        m = np.zeros(shape, np.uint8)
        m[r0:r1, c0:c1] = 255
        Image.fromarray(m).save(root / name / "masks" / f"m{k}.png")
    Image.fromarray(rgba).save(root / name / "images" / f"{name}.png")


def test_dsb_folders_are_converted_with_masks_unioned(tmp_path):
    dsb = tmp_path / "stage1_train"
    _write_dsb(dsb, "abc", (128, 128), [(0, 64, 0, 64), (64, 128, 64, 128)])
    _write_dsb(dsb, "def", (64, 96), [(10, 20, 10, 20)])
    pairs = nuclei.pairs_from(dsb, cache_dir=tmp_path / "flat")
    assert [p[0].name for p in pairs] == ["abc_cells.png", "def_cells.png"]
    mask = nuclei.read_mask(pairs[0][1])
    assert mask.shape == (256, 256) and mask.mean() == pytest.approx(0.5)
    assert nuclei.read_image(pairs[1][0]).shape == (256, 256)


def test_unpaired_image_is_an_error(tmp_path):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "1_cells.png")
    with pytest.raises(ValueError, match="without a partner"):
        nuclei.list_pairs(tmp_path)


def test_not_an_image(tmp_path):
    (tmp_path / "x.jpg").write_text("hello")
    with pytest.raises(ValueError, match="x.jpg"):
        nuclei.read_image(tmp_path / "x.jpg")


def test_split_70_10_20_disjoint_and_fixed():
    pairs = [(f"{k}_cells.jpg", f"{k}_masks.jpg") for k in range(334)]
    a, b = nuclei.split_pairs(pairs), nuclei.split_pairs(pairs)
    assert a == b
    assert [len(a[k]) for k in ("train", "valid", "test")] == [234, 33, 67]
    assert sorted(sum(a.values(), [])) == sorted(pairs)


def test_default_data_is_synthetic_and_fast_mode_is_small(monkeypatch):
    monkeypatch.setenv("COURSE_FAST", "1")
    splits = load_nuclei()
    assert {k: len(v) for k, v in splits.items()} == nuclei.FAST_PAIRS and splits.is_synthetic


def test_partial_real_data_is_named_and_never_overwritten(tmp_path):
    """Real pairs with masks missing, then no images at all: clear errors, nothing written into the folder."""
    for name in ("0_cells.png", "1_cells.png", "0_masks.png"):
        Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / name)
    with pytest.raises(ValueError, match="without a partner, e.g. key '1'"):
        load_nuclei(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["0_cells.png", "0_masks.png", "1_cells.png"]
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("images still to come")
    with pytest.raises(IncompleteDataError, match=r"missing cell_segmentation_jpeg.tar.gz \(or, instead"):
        load_nuclei(other)
    assert [p.name for p in other.iterdir()] == ["notes.txt"]


def test_tarball_is_unpacked_outside_its_folder(synthetic_tar):
    pairs = load_nuclei(synthetic_tar.parent, fast=False)["train"]
    assert not pairs[0][0].is_relative_to(synthetic_tar.parent)
    assert sorted(p.name for p in synthetic_tar.parent.iterdir() if not p.name.startswith(".")) == \
        [nuclei.TARBALL, "synthetic.json"]


def test_random_crops_cut_image_and_mask_the_same_way():
    import torch

    image = torch.arange(256 * 256, dtype=torch.float32).reshape(1, 256, 256)
    mask = (image % 7 == 0).float()
    crops = nuclei.RandomCrops([(image, mask)] * 3, size=128)
    assert len(crops) == 3
    torch.manual_seed(0)
    corners = set()
    for _ in range(20):
        img, m = crops[0]
        assert img.shape == m.shape == (1, 128, 128) and img.is_contiguous()
        assert torch.equal((img % 7 == 0).float(), m)                 # the mask's window is the image's
        top, left = divmod(int(img[0, 0, 0]), 256)
        assert 0 <= top <= 128 and 0 <= left <= 128
        assert torch.equal(img, image[:, top:top + 128, left:left + 128])
        corners.add((top, left))
    assert len(corners) > 10                                          # a new window at every read
    with pytest.raises(ValueError, match="does not fit"):
        nuclei.RandomCrops([(image, mask)], size=300)[0]
    with pytest.raises(ValueError, match="differ in size"):
        nuclei.RandomCrops([(image, mask[:, :100])], size=64)[0]
