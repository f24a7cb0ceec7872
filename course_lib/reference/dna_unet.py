"""Reference solutions for the `dna_unet` assignment (BiLSTM binding sites, then U-Net nuclei)."""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.utils.data import Dataset

from course_lib.data.nuclei import read_image, read_mask
from course_lib.encoding import one_hot


# ---------------------------------------------------------------- part 1: DNA binding sites
def one_hot_encode(seq: str) -> torch.Tensor:
    """A DNA string -> float32 tensor (L, 4), columns A C G T. Any other letter is a ValueError."""
    if not isinstance(seq, str):
        raise TypeError(f"seq must be a str, got {type(seq).__name__}")
    return torch.from_numpy(one_hot(seq.upper(), unknown=""))


class DNADataset(Dataset):
    """(one-hot sequence (L, 4), label (1,)) pairs; all sequences encoded once, up front.

    Indexing with a list of rows returns a whole batch, which `course_lib.training.make_loader` uses.
    """

    def __init__(self, sequences, labels):
        sequences, labels = list(sequences), np.asarray(labels, dtype=np.float32).reshape(-1)
        if len(sequences) != labels.size:
            raise ValueError(f"{len(sequences)} sequences but {labels.size} labels")
        self.X = torch.stack([one_hot_encode(s) for s in sequences]) if sequences else torch.zeros(0, 0, 4)
        self.y = torch.from_numpy(labels).reshape(-1, 1)

    def __len__(self) -> int:
        return self.y.shape[0]

    def __getitem__(self, i):
        return self.X[i], self.y[i]


class LSTMSeq(nn.Module):
    """Bidirectional LSTM; final hidden state of the backward direction -> tanh MLP -> probability (B, 1).

    PyTorch's default initialisation; the notebook re-initialises it with
    `course_lib.models.recurrent.init_lstm_` before training (see there why).
    """

    def __init__(self, hidden_dim: int = 64):
        super().__init__()
        self.lstm = nn.LSTM(4, hidden_dim, num_layers=1, batch_first=True, bidirectional=True)
        self.mlp = nn.Sequential(
            nn.Linear(hidden_dim, hidden_dim), nn.Tanh(),
            nn.Linear(hidden_dim, hidden_dim), nn.Tanh(),
            nn.Linear(hidden_dim, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, (h_n, _) = self.lstm(x)          # h_n: (2, B, H); index 1 = backward direction
        return torch.sigmoid(self.mlp(h_n[1]))


def _model_device(model: nn.Module) -> torch.device:
    return next(model.parameters()).device


def _batch_predictions(model: nn.Module, loader):
    """(probabilities, float targets of the same shape) for each batch, on the model's device."""
    device = _model_device(model)
    for x, y in loader:
        pred = model(x.to(device))
        yield pred, y.to(device).float().reshape(pred.shape)


def train(model: nn.Module, loader, optimizer, clip: float | None = 1.0) -> float:
    """One epoch of training with BCE on probabilities; returns the mean batch loss."""
    loss_fn = nn.BCELoss()
    model.train()
    losses = []
    for pred, y in _batch_predictions(model, loader):
        loss = loss_fn(pred, y)
        optimizer.zero_grad()
        loss.backward()
        if clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        losses.append(loss.item())
    return float(np.mean(losses))


@torch.no_grad()
def validate(model: nn.Module, loader) -> float:
    """Mean batch BCE loss over `loader`, in eval mode, without gradients."""
    loss_fn = nn.BCELoss()
    model.eval()
    losses = [loss_fn(pred, y).item() for pred, y in _batch_predictions(model, loader)]
    return float(np.mean(losses))


@torch.no_grad()
def evaluate(model: nn.Module, loader) -> tuple[np.ndarray, np.ndarray]:
    """(predicted probabilities, targets) over `loader` as flat NumPy arrays, in loader order."""
    device = _model_device(model)
    model.eval()
    preds, targets = [], []
    for x, y in loader:
        preds.append(model(x.to(device)).reshape(-1).cpu())
        targets.append(y.reshape(-1).cpu())
    return torch.cat(preds).numpy(), torch.cat(targets).numpy()


# ---------------------------------------------------------------- part 2: nuclei segmentation
class ImageDataset(Dataset):
    """(image (1, H, W) float32 in [0, 1], mask (1, H, W) float32 0/1) from (image path, mask path) pairs.

    With `augment=True` each item is rotated by a random multiple of 90 degrees and
    randomly mirrored, the same way for the image and its mask.
    """

    def __init__(self, paths, augment: bool = False):
        self.paths = [(str(image), str(mask)) for image, mask in paths]
        self.augment = augment

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i):
        image_path, mask_path = self.paths[i]
        image = torch.from_numpy(read_image(image_path))[None]
        mask = torch.from_numpy(read_mask(mask_path))[None]
        if self.augment:
            k = int(torch.randint(0, 4, (1,)))
            image, mask = torch.rot90(image, k, dims=(1, 2)), torch.rot90(mask, k, dims=(1, 2))
            if torch.rand(()) < 0.5:
                image, mask = image.flip(2), mask.flip(2)
        return image.contiguous(), mask.contiguous()


def dice_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """1 - (2 sum(p t) + 1) / (sum(p) + sum(t) + 1), summed over every element of the batch."""
    target = target.to(pred.dtype)
    intersection = (pred * target).sum()
    return 1 - (2 * intersection + 1) / (pred.sum() + target.sum() + 1)


def _binary(x, threshold: float) -> np.ndarray:
    if torch.is_tensor(x):
        x = x.detach().cpu().numpy()
    return np.asarray(x) > threshold


def dice_score(pred, target, threshold: float = 0.5) -> float:
    """Dice 2|P∩T| / (|P| + |T|) of thresholded masks; 1.0 when both are empty."""
    p, t = _binary(pred, threshold), _binary(target, threshold)
    total = p.sum() + t.sum()
    return 1.0 if total == 0 else float(2 * (p & t).sum() / total)


def iou_score(pred, target, threshold: float = 0.5) -> float:
    """Intersection over union |P∩T| / |P∪T| of thresholded masks; 1.0 when both are empty."""
    p, t = _binary(pred, threshold), _binary(target, threshold)
    union = (p | t).sum()
    return 1.0 if union == 0 else float((p & t).sum() / union)


def plot_seg(model: nn.Module, dataset, indices=(0, 1, 2), threshold: float = 0.5):
    """For three items of `dataset`: the image, the true mask and the model's predicted mask."""
    import matplotlib.pyplot as plt

    device = _model_device(model)
    model.eval()
    fig, axes = plt.subplots(len(indices), 3, figsize=(9, 3 * len(indices)), squeeze=False)
    for row, i in zip(axes, indices):
        image, mask = dataset[i]
        with torch.no_grad():
            prob = model(image[None].to(device))[0, 0].cpu()
        pred = (prob > threshold).float()
        panels = [(image[0], "image"), (mask[0], "true mask"),
                  (pred, f"predicted (Dice {dice_score(pred, mask[0]):.2f})")]
        for ax, (img, title) in zip(row, panels):
            ax.imshow(img.numpy(), cmap="gray")
            ax.set_title(title)
            ax.axis("off")
    fig.tight_layout()
    return fig


def mean_scores(model: nn.Module, loader, threshold: float = 0.5) -> dict:
    """Mean per-image Dice and IoU of the model's thresholded predictions over `loader`."""
    device = _model_device(model)
    model.eval()
    dice, iou = [], []
    with torch.no_grad():
        for image, mask in loader:
            prob = model(image.to(device)).cpu()
            for p, t in zip(prob, mask):
                dice.append(dice_score(p, t, threshold))
                iou.append(iou_score(p, t, threshold))
    return {"dice": float(np.mean(dice)) if dice else math.nan, "iou": float(np.mean(iou)) if iou else math.nan}
