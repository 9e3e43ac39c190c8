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


def with_memory(x: np.ndarray, rate_hz: float, seconds: float) -> np.ndarray:
    """(n, 3) readings to (n, 6): the axes, then their causal exponential average with time
    constant `seconds`, which starts at the first reading (the start-of-stream rule)."""
    from scipy import signal

    keep = float(np.exp(-1.0 / (seconds * rate_hz)))
    average = signal.lfilter([1 - keep], [1, -keep], x, axis=0, zi=keep * x[:1].astype(np.float64))[0]
    return np.concatenate([x, average], axis=1).astype(np.float32)
