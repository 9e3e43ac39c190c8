"""Random sensor-frame rotations and gains per training window: people wear devices differently."""

from __future__ import annotations

import numpy as np

from ..core.config import TrainConfig
from ..core.rotation import random_rotations, rotation_matrices

# The identity and the three half-turns about the device's axes: how a flat device can sit in a
# pocket or on a strap (screen in or out, top up or down) while its long axis keeps its meaning.
AXIS_FLIPS = np.array([np.diag(d) for d in ([1, 1, 1], [1, -1, -1], [-1, 1, -1], [-1, -1, 1])], dtype=np.float64)


def augment(x: np.ndarray, cfg: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """Random sensor-frame rotation and gain per window: people wear devices differently. Every
    group of three channels (the axes, and any average of them) turns with the same rotation."""
    n, steps, channels = len(x), x.shape[1], x.shape[2]
    x = x.reshape(n, steps, channels // 3, 3)
    if cfg.flip_axes:
        x = np.einsum("nij,ntkj->ntki", AXIS_FLIPS[rng.integers(0, len(AXIS_FLIPS), size=n)], x)
    if cfg.roll_axis:
        axis = np.eye(3)["xyz".index(cfg.roll_axis)]
        rolls = rotation_matrices(np.tile(axis, (n, 1)), rng.uniform(-np.pi, np.pi, size=n))
        x = np.einsum("nij,ntkj->ntki", rolls, x)
    if cfg.rotate_deg > 0:
        x = np.einsum("nij,ntkj->ntki", random_rotations(rng, n, cfg.rotate_deg), x)
    gain = 1 + cfg.scale_jitter * rng.uniform(-1, 1, size=(n, 1, 1, 1))
    return (x * gain).reshape(n, steps, channels).astype(np.float32)
