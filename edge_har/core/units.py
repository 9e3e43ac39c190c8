"""Acceleration units: what a run's model takes, what a board sends, and the conversion between.

A run records its input units: `g`, `m/s2`, or `counts` (a device's own scale, as in the
HumanActivity set, which no other device shares). g and m/s2 convert both ways; counts convert
to nothing but the same counts. Data that does not say is judged by the size of gravity: the
median length of a reading is 1 in g and 9.8 in m/s2.
"""

from __future__ import annotations

import numpy as np

from .errors import UserError

UNITS = ("g", "m/s2", "counts")
STANDARD_GRAVITY = 9.80665  # m/s2 per g
_ALIASES = {"g": "g", "m/s2": "m/s2", "m/s^2": "m/s2", "m/s²": "m/s2", "ms2": "m/s2", "mps2": "m/s2",
            "counts": "counts", "raw": "counts"}
UNIT_NAMES = frozenset(_ALIASES)  # every name `canonical` knows, in lower case


def canonical(name: str) -> str:
    """A unit name as edge-har writes it; a one-line error naming the choices otherwise."""
    unit = _ALIASES.get(name.strip().lower())
    if unit is None:
        raise UserError(f"unknown units {name!r}; use one of {', '.join(UNITS)}")
    return unit


def factor(source: str, target: str) -> float:
    """Target units per source unit (a board's units to a model's, say), or a one-line refusal."""
    source, target = canonical(source), canonical(target)
    if source == target:
        return 1.0
    if {source, target} == {"g", "m/s2"}:
        return STANDARD_GRAVITY if source == "g" else 1.0 / STANDARD_GRAVITY
    raise UserError(f"readings in {source} do not convert to {target}: send the units the model was trained on "
                    "(`units=` in the board's info), or train on recordings from this board")


def infer(readings: np.ndarray) -> tuple[str, str]:
    """(units, why) from the median length of the readings, where the data does not say."""
    length = float(np.median(np.linalg.norm(readings, axis=-1)))
    if 0.7 <= length <= 1.3:
        return "g", f"median |a| {length:.2f}: gravity is 1"
    if 0.7 * STANDARD_GRAVITY <= length <= 1.3 * STANDARD_GRAVITY:
        return "m/s2", f"median |a| {length:.2f}: gravity is 9.8"
    return "counts", f"median |a| {length:.3g} is neither 1 g nor 9.8 m/s2: the device's own counts"
