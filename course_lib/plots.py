"""Figures the notebooks draw: training curves, ROC curves, confusion matrices."""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def _as_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x).reshape(-1)


def plot_history(history, ax=None, title: str = ""):
    """Train/validation loss per epoch; the validation metric, if any, on a second axis labelled with its name.

    One legend, under the axes (where it covers no curve), lists the lines of both axes."""
    ax = ax or plt.subplots(figsize=(5, 3.2))[1]
    epochs = np.arange(1, len(history.train_loss) + 1)
    ax.plot(epochs, history.train_loss, "o-", label="train loss")
    ax.plot(epochs, history.valid_loss, "s-", label="validation loss")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    if len(epochs) <= 12:
        ax.set_xticks(epochs)
    if history.best_epoch is not None:
        ax.axvline(history.best_epoch + 1, color="grey", ls=":", label="kept epoch")
    handles, labels = ax.get_legend_handles_labels()
    if history.valid_metric:
        name = getattr(history, "metric_name", "") or "validation metric"
        ax2 = ax.twinx()
        ax2.plot(epochs, history.valid_metric, "^--", color="tab:green", label=f"validation {name}"
                 if not name.startswith("validation") else name)
        ax2.set_ylabel(name, color="tab:green")
        ax2.tick_params(axis="y", colors="tab:green")
        more_handles, more_labels = ax2.get_legend_handles_labels()
        handles, labels = handles + more_handles, labels + more_labels
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2, fontsize=8, frameon=False)
    ax.set_title(title)
    return ax


def plot_roc(curves: dict, ax=None, title: str = "ROC"):
    """ROC curves: `curves` maps a label to (scores, y_true)."""
    from sklearn.metrics import roc_auc_score, roc_curve

    ax = ax or plt.subplots(figsize=(4, 4))[1]
    for label, (scores, y) in curves.items():
        scores, y = _as_numpy(scores), _as_numpy(y)
        fpr, tpr, _ = roc_curve(y, scores)
        ax.plot(fpr, tpr, label=f"{label} (AUROC {roc_auc_score(y, scores):.3f})")
    ax.plot([0, 1], [0, 1], color="grey", ls=":")
    ax.set_xlabel("false positive rate")
    ax.set_ylabel("true positive rate")
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def plot_confusion(y_true, y_pred, ax=None, labels=("unbound", "bound"), title: str = ""):
    """A 2x2 confusion matrix with counts in the cells."""
    from sklearn.metrics import confusion_matrix

    cm = confusion_matrix(_as_numpy(y_true).astype(int), _as_numpy(y_pred).astype(int), labels=[0, 1])
    ax = ax or plt.subplots(figsize=(3.4, 3))[1]
    ax.imshow(cm, cmap="Blues")
    for (i, j), v in np.ndenumerate(cm):
        ax.text(j, i, str(v), ha="center", va="center", color="black" if v < cm.max() / 2 else "white")
    ax.set_xticks([0, 1], labels)
    ax.set_yticks([0, 1], labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    return ax
