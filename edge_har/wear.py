"""How a device is worn, as the augmentation that teaches a model to ignore it.

A user names the way the device sits on a body (`--wear`); the three low-level flags it sets
(`--roll-axis`, `--flip-axes`, `--rotate-deg`) stay for experts and override it. `auto` tries
each way in a short training and keeps the one that does best on people held out of that
training: a subject-wise choice, made on the training people only (inside each
cross-validation fold, on that fold's training people).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from rich.progress import Progress

from .config import ModelConfig, TrainConfig
from .data import Dataset


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


@dataclass
class WearChoice:
    chosen: str
    accuracy: dict[str, float]  # validation accuracy of each trial
    validation_subjects: list[str]

    def describe(self) -> str:
        scores = ", ".join(f"{name} {value:.3f}" for name, value in self.accuracy.items())
        return (f"--wear auto chose '{self.chosen}' ({WEARS[self.chosen].description}); short trials, validation "
                f"accuracy on {', '.join(self.validation_subjects)}: {scores} (within {TIE:g} of the best is a tie, "
                "won by the wear that covers more orientations)")

    def as_dict(self) -> dict:
        return {"chosen": self.chosen, "trial_accuracy": self.accuracy, "validation_subjects": self.validation_subjects}


def choose_wear(data: Dataset, model_cfg: ModelConfig, cfg: TrainConfig, progress: Progress | None = None,
                label: str = "") -> WearChoice:
    """Train each way of wearing briefly on some of `data`'s subjects and keep the one with the
    best mean accuracy over the others (a third of them, at least one); ties (within TIE) go to
    the more general wear."""
    from .training import evaluate, fit  # training imports this module

    subjects = data.subjects
    held = max(1, len(subjects) // 3)
    train_subjects, val_subjects = subjects[:-held], subjects[-held:]
    trial = replace(cfg, epochs=min(cfg.epochs, max(MIN_TRIAL_EPOCHS, cfg.epochs // TRIAL_EPOCH_SHARE)))
    accuracy = {}
    for name in WEARS:
        result = fit(data.select(train_subjects), data.select(val_subjects), model_cfg, dressed(trial, name), progress,
                     label=f"{label}wear trial '{name}'")
        accuracy[name] = float(np.mean([evaluate(result.model, data.select([s])).summary["accuracy"]
                                        for s in val_subjects]))
    return WearChoice(most_general_of_the_best(accuracy), accuracy, val_subjects)


def most_general_of_the_best(accuracy: dict[str, float]) -> str:
    best = max(accuracy.values())
    return [name for name in GENERALITY if accuracy[name] >= best - TIE][-1]
