"""Per-time-step classification metrics over labelled steps only."""

from __future__ import annotations

import numpy as np

from .labels import UNLABELED


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """Rows are true classes, columns predicted ones; unlabelled steps are left out."""
    keep = y_true != UNLABELED
    pairs = y_true[keep] * num_classes + y_pred[keep]
    return np.bincount(pairs, minlength=num_classes**2).reshape(num_classes, num_classes)


def summarize(confusion: np.ndarray, classes: list[str]) -> dict:
    """Accuracy, macro-F1 (over classes present in the truth) and per-class recall."""
    total = confusion.sum()
    true_counts = confusion.sum(axis=1)
    pred_counts = confusion.sum(axis=0)
    hits = np.diag(confusion)
    present = true_counts > 0
    precision = np.divide(hits, pred_counts, out=np.zeros(len(hits)), where=pred_counts > 0)
    recall = np.divide(hits, true_counts, out=np.zeros(len(hits)), where=present)
    f1 = np.divide(2 * precision * recall, precision + recall, out=np.zeros(len(hits)),
                   where=(precision + recall) > 0)
    return {
        "accuracy": float(hits.sum() / total) if total else float("nan"),
        "macro_f1": float(f1[present].mean()) if present.any() else float("nan"),
        "per_class_accuracy": {c: float(r) for c, r, p in zip(classes, recall, present) if p},
        "steps": int(total),
    }


def agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of steps where two backends predict the same class."""
    return float((a == b).mean()) if len(a) else float("nan")
