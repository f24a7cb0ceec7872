"""Nuclei segmentation: readers for image/mask pairs, and the fixed 70/10/20 split.

Two on-disk layouts are read:
  * the course tarball `cell_segmentation_jpeg.tar.gz`: `cell_segmentation/{k}_cells.jpg`
    (grayscale 256x256) and `cell_segmentation/{k}_masks.jpg` (JPEG, so masks are
    thresholded at > 127); extracted once into a flat folder of pairs;
  * the Kaggle Data Science Bowl 2018 folders: `<id>/images/<id>.png` and one PNG per
    nucleus in `<id>/masks/`; converted once (grayscale, masks unioned, resized to
    256x256) into the same flat folder layout.
Every reader returns lists of (image path, mask path) pairs; `read_image` and `read_mask`
turn one file into a float32 array; `RandomCrops` cuts training items to random windows.
`nuclei_synthetic` writes a synthetic tarball in the course layout.
"""
from __future__ import annotations

import hashlib
import re
import tarfile
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from .. import config
from .manifest import locked

TARBALL = "cell_segmentation_jpeg.tar.gz"
IMAGE_SIZE = 256
MASK_THRESHOLD = 127
SPLIT_FRACTIONS = {"train": 0.7, "valid": 0.1, "test": 0.2}
SPLIT_SEED = 0
BATCH_SIZE = 4
CROP_SIZE = 128
FAST_PAIRS = {"train": 12, "valid": 4, "test": 4}
# a complete real copy: the course tarball, a flat folder of pairs, or Kaggle DSB 2018 folders
LAYOUTS = ((TARBALL,), ("*_cells.*", "*_masks.*"), ("*/images/*.png",))
_PAIR_NAME = re.compile(r"^(?P<key>.+)_(?P<kind>cells|masks)\.(?P<ext>jpe?g|png|tiff?)$", re.IGNORECASE)


def _open_gray(path) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such image file")
    try:
        with Image.open(path) as img:
            return np.asarray(img.convert("L"))
    except UnidentifiedImageError:
        raise ValueError(f"{path}: not an image file PIL can read") from None


def read_image(path) -> np.ndarray:
    """A grayscale image as float32 (H, W) in [0, 1] (colour images are converted to gray)."""
    return _open_gray(path).astype(np.float32) / 255.0


def read_mask(path) -> np.ndarray:
    """A mask as float32 (H, W) of 0/1: pixels brighter than 127 are nucleus (survives JPEG noise)."""
    return (_open_gray(path) > MASK_THRESHOLD).astype(np.float32)


def list_pairs(folder) -> list[tuple[Path, Path]]:
    """(image, mask) path pairs of a flat folder of `{k}_cells.*` / `{k}_masks.*` files, sorted by key.

    Numeric keys sort numerically. A cell image without its mask (or the reverse) is a ValueError.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder of {{k}}_cells / {{k}}_masks images")
    found: dict[str, dict[str, Path]] = {}
    for path in folder.iterdir():
        m = _PAIR_NAME.match(path.name)
        if m:
            found.setdefault(m["key"], {})[m["kind"].lower()] = path
    unpaired = sorted(k for k, v in found.items() if len(v) != 2)
    if unpaired:
        raise ValueError(f"{folder}: {len(unpaired)} image(s) without a partner, e.g. key {unpaired[0]!r} "
                         "(every {k}_cells file needs a {k}_masks file)")
    keys = sorted(found, key=lambda k: (0, int(k), "") if k.isdigit() else (1, 0, k))
    return [(found[k]["cells"], found[k]["masks"]) for k in keys]


def extract_tarball(tar_path, out_dir) -> Path:
    """Extract the image/mask pairs of a course tarball into `out_dir` (flat); cached; returns out_dir."""
    tar_path, out_dir = Path(tar_path), Path(out_dir)
    done, stamp = out_dir / ".extracted", str(tar_path.stat().st_mtime_ns)
    if done.exists() and done.read_text() == stamp:
        return out_dir
    with locked(out_dir):  # one process extracts; the others wait, then find it done
        if done.exists() and done.read_text() == stamp:
            return out_dir
        for stale in out_dir.iterdir():          # pairs of an older extraction must not mix in
            if _PAIR_NAME.match(stale.name):
                stale.unlink()
        try:
            with tarfile.open(tar_path, "r:*") as tar:
                members = [m for m in tar.getmembers() if m.isfile() and _PAIR_NAME.match(Path(m.name).name)]
                if not members:
                    raise ValueError(f"{tar_path}: no {{k}}_cells.jpg / {{k}}_masks.jpg files inside")
                for member in members:  # flat names only: nothing can escape out_dir
                    (out_dir / Path(member.name).name).write_bytes(tar.extractfile(member).read())
        except tarfile.TarError as exc:
            raise ValueError(f"{tar_path}: not a readable tar archive ({exc})") from None
        done.write_text(stamp)
    return out_dir


def convert_dsb(dsb_dir, out_dir, size: int = IMAGE_SIZE) -> Path:
    """Convert Kaggle DSB 2018 folders (`<id>/images/<id>.png`, `<id>/masks/*.png`) to flat pairs.

    Images become grayscale, the nucleus masks of one image are unioned, both are resized to
    `size` x `size` (bilinear for images, nearest for masks) and written as PNG. Cached.
    """
    from PIL import Image

    dsb_dir, out_dir = Path(dsb_dir), Path(out_dir)
    samples = sorted(p for p in dsb_dir.iterdir() if (p / "images").is_dir()) if dsb_dir.is_dir() else []
    if not samples:
        raise ValueError(f"{dsb_dir}: no DSB sample folders (<id>/images/<id>.png) found")
    out_dir.mkdir(parents=True, exist_ok=True)
    for sample in samples:
        image_out, mask_out = out_dir / f"{sample.name}_cells.png", out_dir / f"{sample.name}_masks.png"
        if image_out.exists() and mask_out.exists():
            continue
        image_files = sorted((sample / "images").glob("*.png"))
        if not image_files:
            raise ValueError(f"{sample / 'images'}: no PNG image")
        gray = _open_gray(image_files[0])
        mask = np.zeros(gray.shape, bool)
        for mask_file in sorted((sample / "masks").glob("*.png")):
            part = _open_gray(mask_file) > MASK_THRESHOLD
            if part.shape != gray.shape:
                raise ValueError(f"{mask_file}: mask shape {part.shape} differs from the image's {gray.shape}")
            mask |= part
        Image.fromarray(gray).resize((size, size), Image.BILINEAR).save(image_out)
        Image.fromarray(mask.astype(np.uint8) * 255).resize((size, size), Image.NEAREST).save(mask_out)
    return out_dir


def pairs_from(path, cache_dir=None) -> list[tuple[Path, Path]]:
    """Image/mask pairs from any supported source: a course tarball, a flat folder or DSB folders.

    Tarballs and DSB folders are unpacked/converted once into `cache_dir` (default: a folder
    under `<data root>/cache/nuclei/` named after the source; the source is never written to).
    """
    path = Path(path)
    cache = Path(cache_dir) if cache_dir is not None else _default_cache(path)
    if path.is_file():
        return list_pairs(extract_tarball(path, cache))
    if not path.is_dir():
        raise FileNotFoundError(f"{path}: no such tarball or folder of nuclei images")
    if any(_PAIR_NAME.match(p.name) for p in path.iterdir()):
        return list_pairs(path)
    if (path / TARBALL).is_file():
        return list_pairs(extract_tarball(path / TARBALL, cache))
    return list_pairs(convert_dsb(path, cache))


def _default_cache(path: Path) -> Path:
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:12]
    return config.cache_dir("nuclei") / f"{resolved.name}-{digest}"


def split_pairs(pairs, seed: int = SPLIT_SEED) -> dict[str, list]:
    """Shuffle (fixed seed) and cut into 70 % train, 10 % validation, 20 % test."""
    pairs = list(pairs)
    if len(pairs) < 3:
        raise ValueError(f"need at least 3 image/mask pairs to split, got {len(pairs)}")
    order = np.random.default_rng(seed).permutation(len(pairs))
    n_train = int(round(len(pairs) * SPLIT_FRACTIONS["train"]))
    n_valid = max(1, int(round(len(pairs) * SPLIT_FRACTIONS["valid"])))
    cuts = {"train": order[:n_train], "valid": order[n_train:n_train + n_valid],
            "test": order[n_train + n_valid:]}
    return {name: [pairs[i] for i in rows] for name, rows in cuts.items()}


def read_splits(path, fast: bool | None = None, seed: int = SPLIT_SEED) -> dict[str, list]:
    """Train/valid/test lists of (image path, mask path) from any source `pairs_from` reads;
    small in fast mode (COURSE_FAST=1 or fast=True)."""
    splits = split_pairs(pairs_from(path), seed)
    if config.fast_mode() if fast is None else fast:
        splits = {name: part[:FAST_PAIRS[name]] for name, part in splits.items()}
    return splits


class RandomCrops(Dataset):
    """The items of an (image, mask) dataset, each cut to a random `size` x `size` window.

    The window is drawn anew (with torch's random generator) every time an item is read, and
    is the same for the image and its mask. A convolutional network trained on crops works on
    whole images too; a 128x128 crop costs about a quarter of a 256x256 image per step.
    """

    def __init__(self, dataset, size: int = CROP_SIZE):
        if size < 1:
            raise ValueError(f"crop size must be positive, got {size}")
        self.dataset, self.size = dataset, int(size)

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i):
        image, mask = self.dataset[i]
        height, width = image.shape[-2:]
        if tuple(mask.shape[-2:]) != (height, width):
            raise ValueError(f"item {i}: image {tuple(image.shape)} and mask {tuple(mask.shape)} differ in size")
        if self.size > min(height, width):
            raise ValueError(f"item {i}: a {self.size}x{self.size} crop does not fit in a {height}x{width} image")
        top = int(torch.randint(0, height - self.size + 1, (1,)))
        left = int(torch.randint(0, width - self.size + 1, (1,)))
        window = (..., slice(top, top + self.size), slice(left, left + self.size))
        return image[window].contiguous(), mask[window].contiguous()
