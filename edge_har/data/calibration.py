"""Calibration sets: R-long windows of raw input that int8 quantization measures ranges on.

Format (`.npz`, documented in calibration_data/README.md): `windows`, float32 (N, R, 3) in raw
sensor units, each window ending at a labelled step and padded by the start-of-stream rule;
`labels`, int64 (N,), the class of each window's last step; `classes`, the class names.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.features import pad_start
from ..core.labels import UNLABELED
from .dataset import Dataset

MIN_WINDOWS = 32
CALIBRATION_PER_CLASS = 64  # windows per class from a run's training subjects


@dataclass
class WindowSet:
    windows: np.ndarray  # (N, R, channels) float32
    labels: np.ndarray  # (N,) int64
    classes: list[str]

    def spread(self, count: int) -> WindowSet:
        """`count` of the windows, evenly spread over the set (all of them where it holds fewer)."""
        picks = np.linspace(0, len(self.windows) - 1, num=min(count, len(self.windows))).astype(int)
        return WindowSet(self.windows[picks], self.labels[picks], self.classes)

    def save(self, path: Path) -> None:
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez_compressed(tmp, windows=self.windows, labels=self.labels, classes=np.array(self.classes))
        tmp.replace(path)


def sample_windows(data: Dataset, receptive_field: int, per_class: int, seed: int = 0) -> WindowSet:
    """Up to `per_class` windows for every class, drawn evenly across subjects and recordings."""
    rng = np.random.default_rng(seed)
    padded = [pad_start(rec.x, receptive_field) for rec in data.recordings]
    windows, labels = [], []
    for label in range(len(data.classes)):
        ends = [(i, t) for i, rec in enumerate(data.recordings) for t in np.flatnonzero(rec.y == label)]
        if not ends:
            continue
        for pick in rng.choice(len(ends), size=min(per_class, len(ends)), replace=False):
            i, t = ends[pick]
            windows.append(padded[i][t:t + receptive_field])
            labels.append(label)
    if not windows:
        raise UserError("no labelled steps to draw windows from")
    return WindowSet(np.stack(windows).astype(np.float32), np.array(labels, dtype=np.int64), list(data.classes))


def spread_windows(data: Dataset, receptive_field: int, count: int) -> WindowSet:
    """`count` windows ending at labelled steps spread evenly over the data (for held-out checks)."""
    ends = [(i, t) for i, rec in enumerate(data.recordings) for t in np.flatnonzero(rec.y != UNLABELED)]
    picks = np.linspace(0, len(ends) - 1, num=min(count, len(ends))).astype(int)
    padded = {i: pad_start(data.recordings[i].x, receptive_field) for i in {ends[p][0] for p in picks}}
    windows = np.stack([padded[ends[p][0]][ends[p][1]:ends[p][1] + receptive_field] for p in picks])
    labels = np.array([data.recordings[ends[p][0]].y[ends[p][1]] for p in picks], dtype=np.int64)
    return WindowSet(windows.astype(np.float32), labels, list(data.classes))


def load_windows(path: Path, receptive_field: int, channels: int = 3) -> WindowSet:
    """Read a calibration set and refuse one that cannot calibrate this model."""
    if not path.is_file():
        raise UserError(f"{path}: no such calibration file")
    try:
        content = np.load(path, allow_pickle=False)
        windows = np.asarray(content["windows"])
        labels = np.asarray(content["labels"]) if "labels" in content else np.full(len(windows), UNLABELED)
        classes = [str(c) for c in content["classes"]] if "classes" in content else []
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:  # each a damaged or foreign file
        raise UserError(f"{path}: not a readable window set (.npz with a 'windows' array: {err}); make a calibration "
                        "set with `edge-har calibrate`, or train the run again for its own") from None
    if windows.ndim != 3 or windows.shape[1:] != (receptive_field, channels):
        raise UserError(f"{path}: windows have shape {windows.shape}; this model needs (N, {receptive_field}, {channels})")
    if not np.isfinite(windows).all():
        bad = np.argwhere(~np.isfinite(windows))[0]
        raise UserError(f"{path}: non-finite value in window {bad[0]}, step {bad[1]}, axis {bad[2]}")
    if len(windows) < MIN_WINDOWS:
        raise UserError(f"{path}: {len(windows)} windows are too few to calibrate; give at least {MIN_WINDOWS}")
    return WindowSet(windows.astype(np.float32), labels.astype(np.int64), classes)
