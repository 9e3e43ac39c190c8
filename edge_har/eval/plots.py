"""PNG plots written into run directories: things people would rather look at than read."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from ..core.labels import UNLABELED  # noqa: E402
from ..core.metrics_report import Epoch, Rung  # noqa: E402


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def training_curves(history: list[Epoch], kept: int, path: Path, title: str) -> None:
    """Loss and accuracy per epoch, with the epoch kept (`kept`)."""
    epochs = [h.epoch for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(epochs, [h.loss for h in history], marker=".")
    left.set(xlabel="epoch", ylabel="training loss", title="loss")
    right.plot(epochs, [h.train_accuracy for h in history], marker=".", label="training windows")
    if history[0].val_accuracy is not None:
        right.plot(epochs, [h.val_accuracy for h in history], marker=".", label="validation subject(s)")
    right.axvline(kept, color="grey", linestyle=":", label=f"kept: epoch {kept}")
    right.set(xlabel="epoch", ylabel="per-step accuracy", title="accuracy", ylim=(0, 1.02))
    right.legend(loc="lower right")
    fig.suptitle(title)
    _save(fig, path)


def confusion(matrix: np.ndarray, classes: list[str], path: Path, title: str) -> None:
    rows = matrix.sum(axis=1, keepdims=True)
    share = np.divide(matrix, rows, out=np.zeros(matrix.shape), where=rows > 0)
    size = 2.5 + 0.55 * len(classes)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(share, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    for i, j in np.ndindex(share.shape):
        if matrix[i, j]:
            ax.text(j, i, f"{share[i, j]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if share[i, j] > 0.5 else "black")
    ax.set(xlabel="predicted", ylabel="true", title=title)
    fig.colorbar(image, ax=ax, fraction=0.046, label="share of the true class's steps")
    _save(fig, path)


def timeline(y_true: np.ndarray, y_pred: np.ndarray, classes: list[str], path: Path, title: str,
             sample_rate_hz: float | None) -> None:
    """The truth as a pale band on each class's level, each step's prediction as a dot on its own
    class's level (red where wrong): a one-step flicker is one dot, not a jump across the plot."""
    t = np.arange(len(y_true)) / (sample_rate_hz or 1.0)
    fig, ax = plt.subplots(figsize=(12, 2.5 + 0.25 * len(classes)))
    labelled = y_true != UNLABELED
    ax.scatter(t[labelled], y_true[labelled], s=40, color="0.8", marker="s", label="true", linewidths=0)
    wrong = labelled & (y_pred != y_true)
    right = ~wrong
    ax.scatter(t[right], y_pred[right], s=2, color="tab:blue", label="predicted", linewidths=0)
    ax.scatter(t[wrong], y_pred[wrong], s=3, color="tab:red", label="predicted, wrong", linewidths=0)
    ax.set_yticks(range(len(classes)), classes)
    ax.set_ylim(-0.6, len(classes) - 0.4)
    ax.set(xlabel="seconds" if sample_rate_hz else "time step", title=title)
    ax.legend(loc="upper right", fontsize=8, ncols=3, markerscale=3)
    _save(fig, path)


def rf_ladder(ladder: list[Rung], path: Path, title: str) -> None:
    tried = [(r, r.accuracy) for r in ladder if r.accuracy is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r.receptive_field for r, _ in tried], [accuracy for _, accuracy in tried], marker="o")
    for i, (r, accuracy) in enumerate(tried):
        last = i == len(tried) - 1  # label the rightmost point on its left, inside the axes
        ax.annotate(f"{r.params / 1000:.1f}k params\n{r.macs_per_step / 1000:.1f}k MACs/step",
                    (r.receptive_field, accuracy), textcoords="offset points",
                    xytext=(-4 if last else 4, -24), ha="right" if last else "left", fontsize=7)
        if r.chosen:
            ax.scatter([r.receptive_field], [accuracy], s=160, facecolors="none", edgecolors="red",
                       label=f"chosen: R = {r.receptive_field}")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="receptive field R (samples)", ylabel="cross-validated per-step accuracy", title=title)
    if any(r.chosen for r, _ in tried):
        ax.legend(loc="upper right")
    _save(fig, path)


def parity_report(report: dict, steps: dict, classes: list[str], path: Path, sample_rate_hz: float | None) -> None:
    """Accuracy per backend, every backend's agreement with the fp32 reference over time, and the
    truth below. `steps` holds `true`, `pred` (per backend), `reference` and `tflm_index` (the
    steps TFLite-Micro ran on: all of them with the step engine, a spread sample otherwise)."""
    y_true, predictions = steps["true"], steps["pred"]
    fig = plt.figure(figsize=(12, 7))
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 3], height_ratios=[2, 1])
    _accuracy_bars(fig.add_subplot(grid[:, 0]), report)
    t = np.arange(len(y_true)) / (sample_rate_hz or 1.0)
    over_time = fig.add_subplot(grid[0, 1])
    span = max(len(y_true) // 200, 1)
    reference = predictions[steps["reference"]]
    for name, predicted in predictions.items():
        if name == steps["reference"]:
            continue
        index = steps["tflm_index"] if name == "tflm_int8" else np.arange(len(y_true))
        centres, share = _binned_agreement(index, predicted == reference[index], len(y_true), span)
        sparse = len(index) < len(y_true)
        over_time.plot(t[centres], share, linewidth=0.8, marker="." if sparse else None,
                       label=f"{name} ({len(index)} sampled steps)" if sparse else name)
    over_time.set(ylabel=f"agreement with {steps['reference']}\n(share of steps, bins of {span})",
                  title="int8 against fp32 over time", ylim=(0, 1.02))
    over_time.legend(loc="lower right", fontsize=8)
    truth = fig.add_subplot(grid[1, 1], sharex=over_time)
    labelled = y_true != UNLABELED
    truth.scatter(t[labelled], y_true[labelled], s=2, color="black", linewidths=0)
    truth.set_yticks(range(len(classes)), classes, fontsize=7)
    truth.set(xlabel="seconds (recordings end to end)" if sample_rate_hz else "step (recordings end to end)",
              title="true activity")
    tag = " [SYNTHETIC data]" if report["synthetic_data"] else ""
    engine = "step engine (state kept per layer)" if report["engine_name"] == "step" else "rolling engine (R-sample window)"
    fig.suptitle(f"parity, {engine}, on {', '.join(report['subjects'])}{tag}")
    _save(fig, path)


def _accuracy_bars(ax, report: dict) -> None:
    names = list(report["backends"])
    accuracy = [report["backends"][n]["accuracy"] for n in names]
    ax.barh(names, accuracy, color=["tab:gray" if "fp32" in n else "tab:blue" for n in names])
    for i, (name, value) in enumerate(zip(names, accuracy)):
        steps = report["backends"][name]["steps_evaluated"]
        ax.text(value, i, f" {value:.4f}\n {steps} steps", va="center", fontsize=8)
    start = max(0.0, np.floor((min(accuracy) - 0.05) * 20) / 20)
    note = "" if start == 0 else f"\n(axis starts at {start:.2f}, not 0)"
    ax.set(xlim=(start, 1.0), xlabel=f"per-step accuracy{note}", title="accuracy per backend")
    ax.invert_yaxis()


def _binned_agreement(index: np.ndarray, same: np.ndarray, total: int, span: int) -> tuple[np.ndarray, np.ndarray]:
    """Share of agreeing steps in consecutive bins of `span` steps, over the steps in `index`."""
    bins = index // span
    counts = np.bincount(bins, minlength=total // span + 1)
    agree = np.bincount(bins, weights=same.astype(float), minlength=total // span + 1)
    filled = np.flatnonzero(counts)
    centres = np.minimum(filled * span + span // 2, total - 1)
    return centres, agree[filled] / counts[filled]
