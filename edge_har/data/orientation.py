"""Which way a worn device points, recording by recording, from the gravity its accelerometer sees.

A device worn upright has one axis near the vertical (the one the mean gravity lies closest to).
Its small tilt away from that axis points somewhere around it: the tilt's azimuth. Turning the
device about the vertical between recordings (a waist clip worn facing in, then out) leaves the
tilt's size and moves its azimuth by up to 180 degrees; a model that tells postures apart by
which way the device leans then reads them swapped (docs/adaptation.md).

`wear_turns` measures, for each recording and each activity, how far the tilt's azimuth has moved
from the same activity in the subject's first recording. `turned_back` undoes a half-turn about
the vertical in named recordings: a what-if, to measure what a model that knew the turn would do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..core.errors import UserError
from ..core.rotation import rotation_matrices
from .dataset import Dataset, Recording

TURNED_DEG = 90.0  # an azimuth moved further than this, in most activities, is a turned device


@dataclass
class RecordingTurn:
    """One recording's tilt per activity, and how far its azimuth moved from the subject's first recording."""

    key: str  # subject:index, the index counting the subject's recordings from 1
    tilt_deg: dict[str, float]
    azimuth_deg: dict[str, float]
    azimuth_moved_deg: dict[str, float]  # per activity present in both this and the first recording

    @property
    def turned(self) -> bool:
        moved = list(self.azimuth_moved_deg.values())
        return bool(moved) and float(np.median(moved)) > TURNED_DEG


def vertical_axis(data: Dataset) -> int:
    """The device axis the mean gravity of every labelled step lies closest to."""
    labelled = np.concatenate([r.x[r.y >= 0] for r in data.recordings])
    return int(np.abs(labelled.mean(axis=0)).argmax())


def recording_keys(data: Dataset) -> list[str]:
    """subject:index for every recording, in order."""
    counts: dict[str, int] = {}
    keys = []
    for rec in data.recordings:
        counts[rec.subject] = counts.get(rec.subject, 0) + 1
        keys.append(f"{rec.subject}:{counts[rec.subject]}")
    return keys


def wear_turns(data: Dataset) -> list[RecordingTurn]:
    """Every recording's tilt and azimuth per activity, the azimuth beside the subject's first recording's."""
    axis = vertical_axis(data)
    first: dict[str, dict[str, float]] = {}
    turns = []
    for key, rec in zip(recording_keys(data), data.recordings):
        tilt, azimuth = _tilts(rec, data.classes, axis)
        reference = first.setdefault(rec.subject, azimuth)
        moved = {name: _angle_between(azimuth[name], reference[name]) for name in azimuth if name in reference}
        turns.append(RecordingTurn(key, tilt, azimuth, moved))
    return turns


def _tilts(rec: Recording, classes: list[str], axis: int) -> tuple[dict[str, float], dict[str, float]]:
    """Per activity in the recording: the mean gravity's angle from the vertical axis and its azimuth
    around it (degrees, in the plane of the other two axes, the lower-numbered one at 0)."""
    across = [i for i in range(3) if i != axis]
    tilt, azimuth = {}, {}
    for label, name in enumerate(classes):
        steps = rec.y == label
        if not steps.any():
            continue
        g = rec.x[steps].mean(axis=0)
        tilt[name] = float(np.degrees(np.arctan2(np.hypot(*g[across]), abs(g[axis]))))
        azimuth[name] = float(np.degrees(np.arctan2(g[across[1]], g[across[0]])))
    return tilt, azimuth


def _angle_between(a_deg: float, b_deg: float) -> float:
    return float(abs((a_deg - b_deg + 180.0) % 360.0 - 180.0))


def turned_back(data: Dataset, keys: list[str]) -> Dataset:
    """`data` with the named recordings (subject:index) turned by half a turn about the vertical axis."""
    known = recording_keys(data)
    unknown = sorted(set(keys) - set(known))
    if unknown:
        raise UserError(f"no recording {', '.join(unknown)}; recordings are named subject:index, e.g. {known[0]}")
    half_turn = rotation_matrices(np.eye(3)[vertical_axis(data)], np.array(np.pi)).astype(np.float32)
    return replace(data, recordings=[replace(r, x=r.x @ half_turn.T) if key in keys else r
                                     for key, r in zip(known, data.recordings)])
