"""A small U-Net for binary segmentation (students use it; they do not write it).

Encoder: `depth` blocks of two 3x3 convolutions (batch norm, ReLU), each followed by
2x2 max-pooling, doubling the channels from `base` each time. Decoder: transposed
convolutions that double the resolution, concatenated with the encoder's feature map of
the same size (the skip connection), then two 3x3 convolutions. A 1x1 convolution gives
one logit per pixel; with `sigmoid=True` (the default) the output is a probability.
Input height and width must be divisible by 2**depth (256 works for depth <= 8).
"""
from __future__ import annotations

import torch
from torch import nn


def conv_block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3x3 convolutions (same size), each with batch norm and ReLU."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True),
    )


class UNet(nn.Module):
    """U-Net: (B, in_channels, H, W) -> (B, out_channels, H, W) probabilities (or logits if sigmoid=False)."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1, base: int = 16, depth: int = 4,
                 sigmoid: bool = True):
        super().__init__()
        if depth < 1 or base < 1:
            raise ValueError(f"depth and base must be positive, got depth={depth}, base={base}")
        widths = [base * 2 ** i for i in range(depth + 1)]
        self.depth, self.sigmoid = depth, sigmoid
        self.down = nn.ModuleList([conv_block(in_channels, widths[0])] +
                                  [conv_block(widths[i], widths[i + 1]) for i in range(depth)])
        self.pool = nn.MaxPool2d(2)
        self.up = nn.ModuleList([nn.ConvTranspose2d(widths[i + 1], widths[i], 2, stride=2)
                                 for i in reversed(range(depth))])
        self.merge = nn.ModuleList([conv_block(2 * widths[i], widths[i]) for i in reversed(range(depth))])
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        factor = 2 ** self.depth
        if x.dim() != 4 or x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f"UNet expects (B, C, H, W) with H and W divisible by {factor}, "
                             f"got shape {tuple(x.shape)}")
        skips = []
        for i, block in enumerate(self.down):
            x = block(x if i == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        for up, merge in zip(self.up, self.merge):
            x = merge(torch.cat([up(x), skips.pop()], dim=1))
        logits = self.head(x)
        return torch.sigmoid(logits) if self.sigmoid else logits
