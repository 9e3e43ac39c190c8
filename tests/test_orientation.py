"""Finding a device worn turned about the vertical between recordings, and turning it back."""

from __future__ import annotations

import numpy as np
import pytest

from edge_har.core.errors import UserError
from edge_har.core.labels import UNLABELED
from edge_har.core.rotation import rotation_matrices
from edge_har.data.dataset import Dataset, Recording
from edge_har.data.orientation import turned_back, vertical_axis, wear_turns

# Mean gravity per activity of an upright device: near +x, each leaning its own way.
LEANS = np.array([[1.0, -0.2, 0.05], [0.95, 0.3, 0.1], [0.9, -0.1, -0.35]])


def _recording(subject: str, turn: np.ndarray | None = None, seed: int = 0) -> Recording:
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(len(LEANS)), 200)
    y[::50] = UNLABELED
    x = LEANS[np.maximum(y, 0)] + rng.normal(0, 0.3, size=(len(y), 3))  # movement on top of gravity
    if turn is not None:
        x = x @ turn.T
    return Recording(subject, x.astype(np.float32), y)


def _data(*recordings: Recording) -> Dataset:
    return Dataset(list(recordings), ["a", "b", "c"], 50.0, "test")


def _turn(axis: list[float], degrees: float) -> np.ndarray:
    axis = np.asarray(axis, dtype=np.float64)
    return rotation_matrices(axis / np.linalg.norm(axis), np.radians(degrees))


def test_a_half_turn_about_the_vertical_is_found_and_a_small_tilt_is_not():
    data = _data(_recording("p"), _recording("p", _turn([1, 0, 0], 180), seed=1),
                 _recording("q", seed=2), _recording("q", _turn([0, 1, 1], 8), seed=3))
    assert vertical_axis(data) == 0
    turns = {t.key: t for t in wear_turns(data)}
    assert [key for key, t in turns.items() if t.turned] == ["p:2"]
    assert min(turns["p:2"].azimuth_moved_deg.values()) > 150
    assert turns["p:1"].azimuth_moved_deg == {"a": 0.0, "b": 0.0, "c": 0.0}
    assert turns["p:1"].tilt_deg["a"] == pytest.approx(np.degrees(np.arctan2(np.hypot(0.2, 0.05), 1.0)), abs=2)


def test_turning_back_restores_the_recording_and_refuses_an_unknown_name():
    upright = _recording("p")
    data = _data(upright, _recording("p", _turn([1, 0, 0], 180)))
    restored = turned_back(data, ["p:2"])
    np.testing.assert_allclose(restored.recordings[1].x, upright.x, atol=1e-5)
    np.testing.assert_array_equal(restored.recordings[0].x, upright.x)
    assert not any(t.turned for t in wear_turns(restored))
    with pytest.raises(UserError, match="subject:index"):
        turned_back(data, ["p:3"])
