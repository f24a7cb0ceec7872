"""Synthetic nuclei images with exact masks, written in the course tarball layout.

Each 256x256 grayscale image holds elliptical "nuclei" of varied size, elongation,
orientation and brightness, some placed in clusters so that they touch or overlap,
with soft edges and a little internal texture, on an uneven background (a smooth
gradient plus blurred noise), with pixel noise on top. The mask is the exact union of
the ellipses. Files: `cell_segmentation/{k}_cells.jpg` and `{k}_masks.jpg` inside a
tar.gz, like the real copy; masks are written 0/255 so that the reader's > 127
threshold recovers them exactly despite JPEG compression.
"""
from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import manifest
from .nuclei import IMAGE_SIZE, TARBALL

FORMAT_VERSION = 1


@dataclass(frozen=True)
class NucleiGenerator:
    """Parameters of the synthetic nuclei images (all written to the manifest)."""
    n_images: int = 334
    size: int = IMAGE_SIZE
    nuclei_per_image: tuple = (4, 30)
    radius: tuple = (5.0, 18.0)
    elongation: tuple = (1.0, 1.8)
    brightness: tuple = (0.15, 0.9)
    cluster_fraction: float = 0.4       # share of nuclei placed next to an earlier one
    background_level: tuple = (0.01, 0.15)
    noise_sd: float = 0.03
    jpeg_quality: int = 90

    def _background(self, rng, yy, xx) -> np.ndarray:
        from scipy import ndimage   # only when generating: reading data never imports scipy
        s = self.size
        gx, gy = rng.normal(0, 0.08, 2)
        level = rng.uniform(*self.background_level)
        coarse = rng.normal(0, 0.04, (5, 5))
        blocky = np.kron(coarse, np.ones((s // 4 + 1, s // 4 + 1)))[:s, :s]
        blur = ndimage.uniform_filter(blocky, size=31, mode="nearest")   # smooth, uneven illumination
        return level + gx * (xx / s - 0.5) + gy * (yy / s - 0.5) + blur

    def sample(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """(image uint8 (S, S), mask bool (S, S))."""
        s = self.size
        yy, xx = np.mgrid[0:s, 0:s].astype(np.float32)
        image = self._background(rng, yy, xx)
        mask = np.zeros((s, s), bool)
        centres = []
        for _ in range(rng.integers(*self.nuclei_per_image, endpoint=True)):
            r = rng.uniform(*self.radius)
            if centres and rng.random() < self.cluster_fraction:   # touch or overlap an earlier nucleus
                cy, cx, cr = centres[rng.integers(len(centres))]
                angle = rng.uniform(0, 2 * np.pi)
                dist = (cr + r) * rng.uniform(0.6, 1.05)
                cy, cx = cy + dist * np.sin(angle), cx + dist * np.cos(angle)
            else:
                cy, cx = rng.uniform(0, s, 2)
            centres.append((cy, cx, r))
            e, theta = rng.uniform(*self.elongation), rng.uniform(0, np.pi)
            reach = int(np.ceil(1.2 * r * e)) + 2                      # work inside the bounding box only
            y0, y1 = max(int(cy) - reach, 0), min(int(cy) + reach + 1, s)
            x0, x1 = max(int(cx) - reach, 0), min(int(cx) + reach + 1, s)
            if y0 >= y1 or x0 >= x1:
                continue
            dy, dx = yy[y0:y1, x0:x1] - cy, xx[y0:y1, x0:x1] - cx
            u = (dx * np.cos(theta) + dy * np.sin(theta)) / (r * e)
            v = (-dx * np.sin(theta) + dy * np.cos(theta)) * e / r
            d2 = u * u + v * v
            inside = d2 <= 1.0
            mask[y0:y1, x0:x1] |= inside
            bright = rng.uniform(*self.brightness)
            profile = bright * (1 - 0.25 * d2) * (1 + 0.08 * rng.standard_normal(d2.shape))
            halo = (d2 > 1.0) & (d2 < 1.3)                    # soft edge outside the exact mask
            edge = bright * 0.25 * (1.3 - d2) / 0.3
            window = image[y0:y1, x0:x1]
            image[y0:y1, x0:x1] = np.where(inside, np.maximum(window, profile),
                                           np.where(halo, np.maximum(window, edge), window))
        image = image + rng.normal(0, self.noise_sd, (s, s))
        return (np.clip(image, 0, 1) * 255).round().astype(np.uint8), mask


def _jpeg_bytes(array: np.ndarray, quality: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_synthetic(data_dir, seed: int = 0, generator: NucleiGenerator | None = None,
                    force: bool = False) -> dict:
    """Write `data_dir`/cell_segmentation_jpeg.tar.gz: synthetic image/mask JPEG pairs in the course
    layout; return the manifest.

    Cached: nothing is written if the tarball exists from the same parameters and seed.
    A folder holding files course_lib did not write is refused (manifest.ForeignFilesError).
    """
    gen = generator or NucleiGenerator()
    params = manifest.params_of(format_version=FORMAT_VERSION, seed=seed, generator=gen)
    return manifest.write_once(data_dir, params, lambda d: _write_tarball(d / TARBALL, gen, seed), force)


def _write_tarball(path: Path, gen: NucleiGenerator, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    coverage = []
    tmp = path.with_name(path.name + ".part")
    with tarfile.open(tmp, "w:gz") as tar:
        for k in range(gen.n_images):
            image, mask = gen.sample(rng)
            coverage.append(float(mask.mean()))
            _add(tar, f"cell_segmentation/{k}_cells.jpg", _jpeg_bytes(image, gen.jpeg_quality))
            _add(tar, f"cell_segmentation/{k}_masks.jpg", _jpeg_bytes(mask.astype(np.uint8) * 255, gen.jpeg_quality))
    tmp.replace(path)
    return {"mean_mask_coverage": float(np.mean(coverage)),
            "note": "synthetic nuclei; masks are exact (0/255, read back with > 127)"}
