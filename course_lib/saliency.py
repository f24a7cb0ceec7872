"""Looking at attribution maps: sequence logos, heatmaps, and where the signal sits.

An attribution map is an (L, 4) array per sequence (A C G T columns), e.g. a saliency
map (gradient of the logit) or grad×input (the gradient at the observed base only).
These helpers draw them and measure how well they point at a known site; computing
them is the students' job (`saliency_map` in the ctcf_saliency assignment).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from .encoding import DNA


def _as_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def position_scores(attributions) -> np.ndarray:
    """(N, L, 4) or (L, 4) -> (N, L) or (L,): the total absolute attribution at each position."""
    return np.abs(_as_numpy(attributions)).sum(-1)


def plot_logo(attribution, ax=None, title: str = "", start: int = 0):
    """One (L, 4) attribution map as a sequence logo (letters scaled by their value; negative ones below 0)."""
    import logomaker

    attr = _as_numpy(attribution)
    if attr.ndim != 2 or attr.shape[1] != 4:
        raise ValueError(f"plot_logo expects one (L, 4) map, got shape {attr.shape}")
    ax = ax or plt.subplots(figsize=(max(4.0, attr.shape[0] / 12), 1.6))[1]
    frame = pd.DataFrame(attr, columns=list(DNA), index=np.arange(start, start + attr.shape[0]))
    logomaker.Logo(frame, ax=ax, color_scheme="classic")
    ax.axhline(0, color="grey", lw=0.5)
    ax.set_ylabel("attribution")
    ax.set_title(title, fontsize=9)
    return ax


def plot_logos(attributions, titles=None, motif_pos=None, motif_len: int | None = None, window: int | None = None):
    """Logos of (N, L, 4) maps, one row per sequence; optionally zoomed to `window` bases around the strongest position.

    `attributions` is one (N, L, 4) array (one column of logos) or a dict {column title: (N, L, 4)}
    (one column per map, side by side; each row zoomed on the same bases, those around the strongest
    position of the *last* map). `motif_pos` (start of a known site per sequence, -1 where none)
    shades that site.
    """
    columns = attributions if isinstance(attributions, dict) else {"": attributions}
    columns = {name: _as_numpy(a) for name, a in columns.items()}
    shapes = {a.shape for a in columns.values()}
    if len(shapes) != 1:
        raise ValueError(f"plot_logos expects maps of one shape, got {sorted(shapes)}")
    last = list(columns.values())[-1]
    n, length = last.shape[:2]
    fig, axes = plt.subplots(n, len(columns), figsize=(10 if len(columns) == 1 else 7 * len(columns), 1.5 * n),
                             squeeze=False)
    for i in range(n):
        lo, hi = 0, length
        if window is not None and window < length:
            centre = int(position_scores(last[i]).argmax())
            lo = int(np.clip(centre - window // 2, 0, length - window))
            hi = lo + window
        for j, (name, attrs) in enumerate(columns.items()):
            ax = axes[i, j]
            title = "" if titles is None else titles[i]
            plot_logo(attrs[i, lo:hi], ax=ax, title=f"{name}: {title}" if name and title else name or title,
                      start=lo)
            if motif_pos is not None and motif_len is not None and motif_pos[i] >= 0:
                ax.axvspan(motif_pos[i] - 0.5, motif_pos[i] + motif_len - 0.5, color="gold", alpha=0.25, lw=0)
            ax.set_ylabel("")
    for ax in axes[-1]:
        ax.set_xlabel("position")
    fig.tight_layout()
    return fig


def plot_attribution_heatmap(attributions, ax=None, title: str = "", motif_pos=None, motif_len: int | None = None,
                             row_labels=None):
    """A heatmap of (N, L, 4) maps: one row per sequence, colour = attribution summed over the 4 bases.

    For grad×input the sum is the value at the observed base, so the sign is kept
    (red supports binding, blue opposes it). Known sites (`motif_pos`) are outlined.
    """
    attrs = _as_numpy(attributions)
    if attrs.ndim != 3 or attrs.shape[2] != 4:
        raise ValueError(f"plot_attribution_heatmap expects (N, L, 4) maps, got shape {attrs.shape}")
    values = attrs.sum(-1)
    ax = ax or plt.subplots(figsize=(10, 0.3 * values.shape[0] + 1.2))[1]
    limit = float(np.abs(values).max()) or 1.0
    image = ax.imshow(values, aspect="auto", cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
    plt.colorbar(image, ax=ax, fraction=0.02, pad=0.01, label="attribution")
    if motif_pos is not None and motif_len is not None:
        for row, start in enumerate(motif_pos):
            if start >= 0:
                ax.add_patch(plt.Rectangle((start - 0.5, row - 0.5), motif_len, 1, fill=False, ec="black", lw=1))
    if row_labels is not None:
        ax.set_yticks(np.arange(len(row_labels)), row_labels, fontsize=7)
    ax.set_xlabel("position")
    ax.set_ylabel("sequence")
    ax.set_title(title)
    return ax


def site_overlap(attributions, motif_pos, motif_len: int, top_k: int | None = None) -> dict:
    """How well the strongest positions fall on known sites, over the sequences that have one.

    Returns `top1_hit_rate` (share of sequences whose single strongest position lies in
    the site), `topk_overlap` (mean share of the `top_k` strongest positions inside the
    site; top_k defaults to the site length), `chance` (the share expected by chance,
    site length / L) and `n` (sequences used).
    """
    scores = position_scores(attributions)
    pos = np.asarray(motif_pos).reshape(-1)
    if scores.ndim != 2 or scores.shape[0] != pos.size:
        raise ValueError(f"expected (N, L, 4) maps and N site starts, got {scores.shape} and {pos.shape}")
    keep = pos >= 0
    scores, pos = scores[keep], pos[keep]
    k = motif_len if top_k is None else top_k
    length = scores.shape[1]
    if scores.shape[0] == 0:
        return {"top1_hit_rate": float("nan"), "topk_overlap": float("nan"), "chance": motif_len / length, "n": 0}
    inside = lambda p: (p >= pos[:, None]) & (p < pos[:, None] + motif_len)  # noqa: E731
    top1 = scores.argmax(1)[:, None]
    topk = np.argsort(-scores, axis=1)[:, :k]
    return {"top1_hit_rate": float(inside(top1).mean()), "topk_overlap": float(inside(topk).mean()),
            "chance": motif_len / length, "n": int(scores.shape[0])}
