"""How a device is worn, as the augmentation that teaches a model to ignore it.

A user names the way the device sits on a body (`--wear`); the three low-level flags it sets
(`--roll-axis`, `--flip-axes`, `--rotate-deg`) stay for experts and override it. `auto` tries
each way in a short training and keeps the one that does best on people held out of that
training: a subject-wise choice, made on the training people only (inside each
cross-validation fold, on that fold's training people).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..core.config import TrainConfig


@dataclass(frozen=True)
class Wear:
    roll_axis: str | None
    flip_axes: bool
    rotate_deg: float
    description: str


WEARS = {
    "rolled": Wear("y", True, 20.0, "turns about its long axis (a phone in a pocket, a band on a wrist or arm), "
                                    "face in or out, top up or down"),
    "fixed": Wear(None, False, 5.0, "strapped in one orientation (a waist clip, a chest strap): the direction of "
                                    "gravity tells postures apart"),
    "any": Wear(None, True, 180.0, "may sit any way (loose in a bag): only what does not depend on orientation counts"),
}
AUTO = "auto"
# From the wear that covers fewest orientations to the one that covers most. A trial is judged on
# a few people, so trials within TIE of the best are a tie, and a tie goes to the wear covering
# more ways of wearing: a person who wears the device unlike the trial's people gains from it.
GENERALITY = ("fixed", "rolled", "any")
TIE = 0.01
TRIAL_EPOCH_SHARE = 4  # a trial trains for a quarter of the epochs (at least MIN_TRIAL_EPOCHS)
MIN_TRIAL_EPOCHS = 3


def dressed(cfg: TrainConfig, wear: str) -> TrainConfig:
    """`cfg` with the augmentation of a named way of wearing the device."""
    preset = WEARS[wear]
    return replace(cfg, wear=wear, roll_axis=preset.roll_axis, flip_axes=preset.flip_axes,
                   rotate_deg=preset.rotate_deg)


def most_general_of_the_best(accuracy: dict[str, float]) -> str:
    best = max(accuracy.values())
    return [name for name in GENERALITY if accuracy[name] >= best - TIE][-1]
