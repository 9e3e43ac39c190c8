"""PNG plots written into run directories: things people would rather look at than read."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from .data import UNLABELED  # noqa: E402


def _save(fig, path: Path) -> None:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def training_curves(history: list[dict], path: Path, title: str) -> None:
    epochs = [h["epoch"] for h in history]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    left.plot(epochs, [h["loss"] for h in history], marker=".")
    left.set(xlabel="epoch", ylabel="training loss", title="loss")
    right.plot(epochs, [h["train_accuracy"] for h in history], marker=".", label="training windows")
    right.plot(epochs, [h["val_accuracy"] for h in history], marker=".", label="validation subject(s)")
    best = max(history, key=lambda h: h["val_accuracy"])
    right.axvline(best["epoch"], color="grey", linestyle=":", label=f"kept: epoch {best['epoch']}")
    right.set(xlabel="epoch", ylabel="per-step accuracy", title="accuracy")
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
    t = np.arange(len(y_true)) / (sample_rate_hz or 1.0)
    fig, ax = plt.subplots(figsize=(12, 2.5 + 0.25 * len(classes)))
    labelled = y_true != UNLABELED
    ax.scatter(t[labelled], y_true[labelled], s=6, color="black", marker="s", label="true", linewidths=0)
    wrong = labelled & (y_pred != y_true)
    ax.plot(t, y_pred + 0.2, color="tab:blue", linewidth=0.8, label="predicted")
    ax.scatter(t[wrong], y_pred[wrong] + 0.2, s=4, color="tab:red", label="wrong", linewidths=0)
    ax.set_yticks(range(len(classes)), classes)
    ax.set(xlabel="seconds" if sample_rate_hz else "time step", title=title)
    ax.legend(loc="upper right", fontsize=8, ncols=3)
    _save(fig, path)


def rf_ladder(ladder: list[dict], path: Path, title: str) -> None:
    tried = [r for r in ladder if r["accuracy"] is not None]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot([r["receptive_field"] for r in tried], [r["accuracy"] for r in tried], marker="o")
    for i, r in enumerate(tried):
        last = i == len(tried) - 1  # label the rightmost point on its left, inside the axes
        ax.annotate(f"{r['params'] / 1000:.1f}k params\n{r['macs_per_step'] / 1000:.1f}k MACs/step",
                    (r["receptive_field"], r["accuracy"]), textcoords="offset points",
                    xytext=(-4 if last else 4, -24), ha="right" if last else "left", fontsize=7)
        if r.get("chosen"):
            ax.scatter([r["receptive_field"]], [r["accuracy"]], s=160, facecolors="none", edgecolors="red",
                       label=f"chosen: R = {r['receptive_field']}")
    ax.set_xscale("log", base=2)
    ax.set(xlabel="receptive field R (samples)", ylabel="cross-validated per-step accuracy", title=title)
    if any(r.get("chosen") for r in tried):
        ax.legend(loc="upper right")
    _save(fig, path)


def parity_report(report: dict, y_true: np.ndarray, predictions: dict[str, np.ndarray], classes: list[str],
                  path: Path, sample_rate_hz: float | None) -> None:
    """Accuracy per backend, and each int8 backend's agreement with fp32 over time above the truth."""
    fig = plt.figure(figsize=(12, 7))
    grid = fig.add_gridspec(2, 2, width_ratios=[1, 3], height_ratios=[2, 1])
    bars = fig.add_subplot(grid[:, 0])
    names = list(report["backends"])
    accuracy = [report["backends"][n]["accuracy"] for n in names]
    bars.barh(names, accuracy, color=["tab:gray" if "fp32" in n else "tab:blue" for n in names])
    for i, (name, value) in enumerate(zip(names, accuracy)):
        steps = report["backends"][name]["steps_evaluated"]
        bars.text(value, i, f" {value:.4f}\n {steps} steps", va="center", fontsize=8)
    bars.set(xlim=(min(accuracy) - 0.05, 1.0), xlabel="per-step accuracy", title="accuracy per backend")
    bars.invert_yaxis()
    t = np.arange(len(y_true)) / (sample_rate_hz or 1.0)
    over_time = fig.add_subplot(grid[0, 1])
    span = max(len(y_true) // 200, 1)
    kernel = np.ones(span)
    counts = np.convolve(np.ones(len(y_true)), kernel, mode="same")  # shorter spans at both ends
    reference = predictions["pytorch_fp32"]
    for name in ("onnx_int8", "litert_int8"):
        same = np.convolve((predictions[name] == reference).astype(float), kernel, mode="same") / counts
        over_time.plot(t, same, linewidth=0.8, label=name)
    over_time.set(ylabel=f"agreement with fp32\n(mean over {span} steps)", title="int8 against fp32 over time")
    over_time.legend(loc="lower right", fontsize=8)
    truth = fig.add_subplot(grid[1, 1], sharex=over_time)
    labelled = y_true != UNLABELED
    truth.scatter(t[labelled], y_true[labelled], s=2, color="black", linewidths=0)
    truth.set_yticks(range(len(classes)), classes, fontsize=7)
    truth.set(xlabel="seconds (recordings end to end)" if sample_rate_hz else "step (recordings end to end)",
              title="true activity")
    tag = " [SYNTHETIC data]" if report["synthetic_data"] else ""
    fig.suptitle(f"parity on {', '.join(report['subjects'])}{tag}")
    _save(fig, path)
