"""What every engine does to raw readings before a model sees them, in NumPy only (no torch),
so the runtime and the trainer share one definition.

- The start-of-stream rule: before the first sample, the stream is that sample repeated R - 1
  times (`pad_start`); the rolling buffer, the step models and the full-sequence pass all use it.
- |a|, the length of each reading, as one more channel for models trained with `--magnitude`.
- A memory of where gravity sat (`with_memory`): a causal exponential average of the readings,
  three more channels that reach back beyond R (issue 36's lever, measured with tools/cv_seeds.py).
"""

from __future__ import annotations

import numpy as np

MAGNITUDE_EPS = 1e-6  # keeps the gradient of |a| finite at a zero reading


def with_magnitude(x: np.ndarray) -> np.ndarray:
    """(..., channels) readings to (..., channels + 1): the axes, then |a|."""
    length = np.sqrt((x * x).sum(axis=-1, keepdims=True) + MAGNITUDE_EPS)
    return np.concatenate([x, length], axis=-1).astype(np.float32)


def defined_readings(x: np.ndarray) -> np.ndarray:
    """The reading rule of every backend and of the C engine (edge_har_engine_quantize_reading): a
    NaN reading (a failed read, a division by a zero scale) reads as 0; an infinity, like any value
    beyond the integer input's range, saturates it."""
    nan = np.isnan(x)
    return np.where(nan, np.zeros_like(x), x) if nan.any() else x


def pad_start(x: np.ndarray, receptive_field: int) -> np.ndarray:
    """Repeat the first sample R - 1 times: the start-of-stream rule of every engine."""
    return np.concatenate([np.repeat(x[:1], receptive_field - 1, axis=0), x], axis=0)


def memory_keep(seconds: float, rate_hz: float) -> float:
    """The share of the memory one step keeps: exp(-1 / (seconds x rate))."""
    return float(np.exp(-1.0 / (seconds * rate_hz)))


def remembered_readings(x: np.ndarray) -> np.ndarray:
    """What the memory takes of each reading: a value that is not finite (a failed read, an
    infinity) reads as 0, so that no reading can spoil the memory for good."""
    return np.where(np.isfinite(x), x, 0).astype(np.float64)


def with_memory(x: np.ndarray, keep: float) -> np.ndarray:
    """(n, 3) readings of one stream to (n, 6): the axes, then their causal exponential average
    m = keep m + (1 - keep) x in double, which holds the first reading before the stream starts (the
    start-of-stream rule). Each step is the product and sum `Memory.step` and the C engine take, in
    Python floats (IEEE doubles; a second for a million readings, and no scipy.signal, which the host
    install cannot import without torch); tests/test_model.py checks them bit for bit."""
    taken, gain = remembered_readings(x), 1.0 - keep
    average = np.empty_like(taken)
    for axis in range(taken.shape[1] if len(taken) else 0):
        column, memory, values = taken[:, axis].tolist(), float(taken[0, axis]), []
        for value in column:
            memory = keep * memory + gain * value
            values.append(memory)
        average[:, axis] = values
    return np.concatenate([defined_readings(x), average.astype(np.float32)], axis=1)


class Memory:
    """`with_memory` one reading at a time, for a live stream: `start(first)`, then `step(reading)`
    for every reading, the first too; each returns the model's readings, (6,) float32."""

    def __init__(self, keep: float):
        self.keep, self.gain = keep, 1.0 - keep
        self.average = np.zeros(3)

    def start(self, first: np.ndarray) -> np.ndarray:
        """Begin a stream at `first`; returns the readings its first step will have (for an engine's
        reset), without taking that step."""
        first = np.asarray(first, dtype=np.float32)
        self.average = remembered_readings(first)
        average = self.keep * self.average + self.gain * self.average
        return np.concatenate([defined_readings(first), average.astype(np.float32)])

    def step(self, reading: np.ndarray) -> np.ndarray:
        reading = np.asarray(reading, dtype=np.float32)
        self.average = self.keep * self.average + self.gain * remembered_readings(reading)
        return np.concatenate([defined_readings(reading), self.average.astype(np.float32)])
