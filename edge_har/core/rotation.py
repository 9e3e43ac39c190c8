"""Rotation matrices (Rodrigues' formula), shared by the data generator and augmentation."""

from __future__ import annotations

import numpy as np


def rotation_matrices(axes: np.ndarray, angles: np.ndarray) -> np.ndarray:
    """(..., 3) unit axes and (...) angles in radians to (..., 3, 3) rotation matrices."""
    axes = np.asarray(axes, dtype=np.float64)
    angles = np.asarray(angles, dtype=np.float64)[..., None, None]
    x, y, z = axes[..., 0], axes[..., 1], axes[..., 2]
    zero = np.zeros_like(x)
    k = np.stack([zero, -z, y, z, zero, -x, -y, x, zero], axis=-1).reshape(*axes.shape[:-1], 3, 3)
    eye = np.broadcast_to(np.eye(3), k.shape)
    return eye + np.sin(angles) * k + (1 - np.cos(angles)) * (k @ k)


def random_rotations(rng: np.random.Generator, n: int, max_deg: float) -> np.ndarray:
    """n rotations about uniformly random axes by angles up to max_deg degrees."""
    axes = rng.normal(size=(n, 3))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    angles = np.deg2rad(max_deg) * rng.uniform(-1, 1, size=n)
    return rotation_matrices(axes, angles)
