"""The built-in default dataset: synthetic, physically plausible 3-axis accelerometer recordings.

Each simulated person wears the device their own way (a mounting rotation, sometimes upside
down) and has their own gait. The accelerometer reads specific force in g: +1 g upwards at
rest, rotated into the device frame, plus body motion, heel-strike impacts, a per-person gain
and bias, and white noise. Everything is deterministic for a seed. It is a stand-in so the
whole chain runs without data; it is not a substitute for real recordings.
"""

from __future__ import annotations

import numpy as np

from ..core.rotation import random_rotations, rotation_matrices
from .dataset import Dataset, Recording

CLASSES = ["Dancing", "Running", "Sitting", "Standing", "Walking"]
SAMPLE_RATE_HZ = 50.0
LATERAL = np.array([1.0, 0.0, 0.0])  # body frame: x lateral, y forward, z up


def synthetic_dataset(people: int = 6, seconds_per_person: float = 240.0, seed: int = 0) -> Dataset:
    rng = np.random.default_rng(seed)
    recordings = [_person(f"sim{i + 1}", seconds_per_person, rng) for i in range(people)]
    return Dataset(recordings, list(CLASSES), SAMPLE_RATE_HZ, "built-in synthetic default", synthetic=True, units="g")


def _person(subject: str, seconds: float, rng: np.random.Generator) -> Recording:
    traits = {
        "mount": random_rotations(rng, 1, 35.0)[0] @ _upside_down(rng),
        "walk_hz": rng.uniform(1.6, 2.1),
        "run_hz": rng.uniform(2.5, 3.1),
        "gain": rng.uniform(0.95, 1.05, size=3),
        "bias": rng.uniform(-0.04, 0.04, size=3),
        "sit_deg": rng.uniform(70, 95),
    }
    xs, ys = [], []
    schedule = _schedule(seconds, rng)
    for activity, duration in schedule:
        n = int(duration * SAMPLE_RATE_HZ)
        xs.append(_segment(activity, n, traits, rng))
        ys.append(np.full(n, CLASSES.index(activity), dtype=np.int64))
    x = np.concatenate(xs)
    x = x * traits["gain"] + traits["bias"] + rng.normal(0, 0.02, size=x.shape)
    return Recording(subject, x.astype(np.float32), np.concatenate(ys))


def _upside_down(rng: np.random.Generator) -> np.ndarray:
    flip = np.diag([1.0, -1.0, -1.0])
    return flip if rng.random() < 0.3 else np.eye(3)


def _schedule(seconds: float, rng: np.random.Generator) -> list[tuple[str, float]]:
    """Every activity twice, in random order, segment lengths filling `seconds`."""
    activities = list(rng.permutation(CLASSES)) + list(rng.permutation(CLASSES))
    weights = rng.uniform(0.6, 1.4, size=len(activities))
    return [(a, seconds * w / weights.sum()) for a, w in zip(activities, weights)]


def _segment(activity: str, n: int, traits: dict, rng: np.random.Generator) -> np.ndarray:
    t = np.arange(n) / SAMPLE_RATE_HZ
    motion, swing = MOTIONS[activity](t, traits, rng)  # world-frame acceleration, thigh swing angle
    posture = rotation_matrices(LATERAL, swing)  # (n, 3, 3)
    orientation = posture @ traits["mount"]  # device-to-world rotation per step
    specific_force = motion + np.array([0.0, 0.0, 1.0])
    return np.einsum("nji,nj->ni", orientation, specific_force)  # world to device frame


def _still(t, traits, rng, sway_g=0.004, sway_deg=1.0, base_deg=0.0):
    sway = np.deg2rad(sway_deg) * np.sin(2 * np.pi * rng.uniform(0.1, 0.4) * t + rng.uniform(0, 6.3))
    motion = rng.normal(0, sway_g, size=(len(t), 3))
    return motion, np.deg2rad(base_deg) + sway


def _sitting(t, traits, rng):
    return _still(t, traits, rng, sway_g=0.003, sway_deg=0.5, base_deg=traits["sit_deg"])


def _standing(t, traits, rng):
    return _still(t, traits, rng, sway_g=0.01, sway_deg=3.0)


def _gait(t, step_hz, bounce_g, impact_g, swing_deg, rng):
    """Vertical bounce with harmonics, a heel-strike impact per step, fore-aft and lateral sway."""
    hz = step_hz * (1 + 0.03 * np.sin(2 * np.pi * 0.05 * t + rng.uniform(0, 6.3)))
    phase = 2 * np.pi * np.cumsum(hz) / SAMPLE_RATE_HZ
    step_phase = np.mod(phase, 2 * np.pi)
    impact = impact_g * np.exp(-0.5 * ((step_phase - 0.3) / 0.15) ** 2)
    vertical = bounce_g * (np.sin(phase) + 0.35 * np.sin(2 * phase + 0.8) + 0.15 * np.sin(3 * phase)) + impact
    forward = 0.4 * bounce_g * np.sin(phase + 1.2)
    lateral = 0.25 * bounce_g * np.sin(phase / 2)
    swing = np.deg2rad(swing_deg) * np.sin(phase / 2)  # the thigh swings once per stride
    return np.stack([lateral, forward, vertical], axis=1), swing


def _walking(t, traits, rng):
    return _gait(t, traits["walk_hz"], 0.25, 0.45, 18.0, rng)


def _running(t, traits, rng):
    return _gait(t, traits["run_hz"], 0.8, 1.4, 35.0, rng)


def _dancing(t, traits, rng):
    """Irregular movement: a few random sways per axis, a changing lean, and occasional hops."""
    motion = np.zeros((len(t), 3))
    for axis in range(3):
        for _ in range(3):
            motion[:, axis] += rng.uniform(0.05, 0.25) * np.sin(2 * np.pi * rng.uniform(0.5, 3.0) * t + rng.uniform(0, 6.3))
    hops = rng.random(len(t)) < 0.6 / SAMPLE_RATE_HZ
    motion[:, 2] += np.convolve(hops.astype(float), np.hanning(12) * 1.2, mode="same")
    lean = np.deg2rad(25) * np.sin(2 * np.pi * rng.uniform(0.2, 0.6) * t + rng.uniform(0, 6.3))
    return motion, lean


MOTIONS = {"Sitting": _sitting, "Standing": _standing, "Walking": _walking,
           "Running": _running, "Dancing": _dancing}
