"""U-Net on the nuclei images: test Dice and IoU, and the time of a training epoch on a CPU.

A quick look at a smaller setting than the notebook's (which trains UNet(base=16) on random
128x128 crops of the whole images; bench/bench_real_data.py measures exactly that on the real
images): this benchmark halves the images to 128x128 (2x2 average for images, 2x2 max for masks),
uses UNet(base=8) and few epochs; it also times training steps on whole 256x256 images and
extrapolates to one epoch. Split 70/10/20 (fixed seed), batch 4, Adam 1e-3, Dice loss,
augmentation on; the epoch with the best validation Dice is kept.

    python bench/bench_nuclei_unet.py                # real tarball in ../shared/data if present
    python bench/bench_nuclei_unet.py --synthetic    # the synthetic tarball
    python bench/bench_nuclei_unet.py --epochs 6 --threads 1
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset

from course_lib.data import nuclei
from course_lib.datasets import load_nuclei
from course_lib.models import UNet
from course_lib.reference.dna_unet import ImageDataset, dice_loss, mean_scores
from course_lib.training import fit, pick_device, seed_everything

REAL_TAR = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "nuclei" / nuclei.TARBALL


class Halved(Dataset):
    """Items of another image/mask dataset at half resolution."""

    def __init__(self, base: Dataset):
        self.base = base

    def __len__(self) -> int:
        return len(self.base)

    def __getitem__(self, i):
        image, mask = self.base[i]
        return F.avg_pool2d(image[None], 2)[0], F.max_pool2d(mask[None], 2)[0]


def full_size_epoch_seconds(n_train: int, steps: int = 3) -> float:
    """Seconds per epoch of UNet(base=16) on 256x256, batch 4, from `steps` timed training steps."""
    model = UNet(base=16)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.rand(4, 1, 256, 256)
    y = (torch.rand(4, 1, 256, 256) > 0.9).float()
    dice_loss(model(x), y).backward()                # warm-up
    start = time.perf_counter()
    for _ in range(steps):
        loss = dice_loss(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (time.perf_counter() - start) / steps * int(np.ceil(n_train / 4))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--synthetic", action="store_true", help="use the synthetic tarball even if the real one exists")
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--base", type=int, default=8)
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cache = Path(tempfile.mkdtemp(prefix="nuclei-bench-"))
    if REAL_TAR.exists() and not args.synthetic:
        pairs, label = nuclei.pairs_from(REAL_TAR, cache_dir=cache), f"real {REAL_TAR.name}"
    else:
        pairs, label = None, "synthetic (course_lib.data.nuclei_synthetic)"
    splits = nuclei.split_pairs(pairs) if pairs is not None else load_nuclei(fast=False)
    seed_everything(0)
    loaders = {
        "train": DataLoader(Halved(ImageDataset(splits["train"], augment=True)), batch_size=nuclei.BATCH_SIZE,
                            shuffle=True, generator=torch.Generator().manual_seed(0)),
        "valid": DataLoader(Halved(ImageDataset(splits["valid"])), batch_size=nuclei.BATCH_SIZE),
        "test": DataLoader(Halved(ImageDataset(splits["test"])), batch_size=nuclei.BATCH_SIZE),
    }
    model = UNet(base=args.base)
    start = time.perf_counter()
    history = fit(model, loaders["train"], loaders["valid"], loss_fn=dice_loss, epochs=args.epochs, lr=1e-3,
                  metric_fn=lambda prob, mask: 1 - float(dice_loss((prob > 0.5).float(), mask)), progress=False)
    train_seconds = time.perf_counter() - start
    scores = mean_scores(model, loaders["test"])
    full_epoch = full_size_epoch_seconds(len(splits["train"]))
    print(f"data: {label}, {sum(map(len, splits.values()))} pairs, split {{train: {len(splits['train'])}, valid: "
          f"{len(splits['valid'])}, test: {len(splits['test'])}}} (seed {nuclei.SPLIT_SEED})")
    print(f"device: {pick_device()} ({torch.get_num_threads()} torch thread(s))")
    print(f"training: UNet(base={args.base}) on 128x128 (images halved), batch 4, Adam 1e-3, Dice loss, "
          f"{args.epochs} epochs, kept epoch {history.best_epoch + 1}")
    print(f"{'measure':<58} {'value':>8}")
    for name, value in (("test mean Dice (per image, threshold 0.5, 128x128)", scores["dice"]),
                        ("test mean IoU (per image, threshold 0.5, 128x128)", scores["iou"]),
                        ("seconds per epoch, 128x128, base 8", train_seconds / args.epochs),
                        ("seconds per epoch, 256x256, base 16 (from 3 timed steps)", full_epoch)):
        print(f"{name:<58} {value:>8.3f}")
    print("known figures: U-Net IoU about 0.84, Dice about 0.91 on DSB 2018 stage-1 holdouts (full size)")


if __name__ == "__main__":
    main()
