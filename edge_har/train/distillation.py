"""A teacher that sees both ways (`train --teacher`): per fold, a larger TCN trained on the same
people that names each step from the samples on both sides of it, whose per-step probabilities
the small causal student learns from beside the labels, on every step, the unlabelled ones too.
The teacher never ships: only the student is saved and exported.

The teacher is the project's own TCN with one more block (twice the receptive field) and a label
delay of half its receptive field, so it names the step at the centre of what it sees. Its
probabilities are taken over each whole training recording; near a recording's end, where the
samples after a step are missing, the last sample stands for them.

How much the student listens to it is chosen on the validation people (inside a cross-validation
fold, that fold's; never a held-out person): one student per setting of TEACHER_SETTINGS, the one
with the best validation accuracy kept.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from rich.progress import Progress

from ..core.config import ModelConfig, TrainConfig
from ..core.decoding import softmax
from ..core.metrics_report import Figures, TeacherReport
from ..data.dataset import Dataset, with_label_delay
from ..model.tcn import TCN, predict_logits
from .training import Evaluation, FitResult, evaluate, fit

# (temperature, weight on the teacher) for the students to try, fixed before any measurement: Hinton
# et al.'s (2015) soft targets at T = 2 beside the labels as an equal partner, and the T = 4 with
# 0.9 on the teacher that later distillation work settled on (Tian et al. 2020, Cho and Hariharan
# 2019). The first wins a tie.
TEACHER_SETTINGS: tuple[tuple[float, float], ...] = ((2.0, 0.5), (4.0, 0.9))


@dataclass
class Taught:
    """What a teacher did in one training: the teacher itself (it names the step `extra_delay`
    steps further back than the student) and each student setting's validation accuracy."""

    model: TCN
    extra_delay: int
    temperature: float
    weight: float
    validation: dict[str, float | None]  # setting_name(T, w) -> its student's best validation accuracy

    def applied(self, cfg: TrainConfig) -> TrainConfig:
        """`cfg` with the chosen setting, as the kept student was trained."""
        return replace(cfg, teacher_temperature=self.temperature, teacher_weight=self.weight)

    def evaluate(self, data: Dataset) -> Evaluation:
        """The teacher's own figures on `data` (held to the student's delay): at the step it names."""
        return evaluate(self.model, with_label_delay(data, self.extra_delay))

    def report(self, held_out: Evaluation | None = None) -> TeacherReport:
        """For metrics.json; with the teacher's own figures on a held-out person."""
        figures = Figures(accuracy=held_out.summary["accuracy"], macro_f1=held_out.summary["macro_f1"]) \
            if held_out else None
        return TeacherReport(temperature=self.temperature, weight=self.weight, validation_accuracy=self.validation,
                             held_out=figures)

    def describe(self) -> str:
        chosen = setting_name(self.temperature, self.weight)
        if None in self.validation.values():
            return f"--teacher: the student at {chosen} (no validation people to choose on)"
        scores = ", ".join(f"{name} {value:.3f}" for name, value in self.validation.items())
        return f"--teacher: kept the student at {chosen} (validation accuracy {scores})"


def setting_name(temperature: float, weight: float) -> str:
    return f"T={temperature:g} w={weight:g}"


def teacher_config(student: ModelConfig) -> ModelConfig:
    """One block more than the student, naming the step at the centre of its receptive field (or
    further back, where the student's own delay is longer)."""
    wider = replace(student, blocks=student.blocks + 1)
    return replace(wider, delay_steps=max(student.delay_steps, (wider.receptive_field - 1) // 2))


def fit_distilled(train: Dataset, val: Dataset, model_cfg: ModelConfig, cfg: TrainConfig,
                  progress: Progress | None = None, label: str = "training") -> tuple[FitResult, Taught | None]:
    """`fit`, after a teacher where `cfg.teacher` asks for one: then the student of the setting
    with the best validation accuracy, and what the teacher did (None without one)."""
    if not cfg.teacher:
        return fit(train, val, model_cfg, cfg, progress, label), None
    teacher_cfg = teacher_config(model_cfg)
    extra = teacher_cfg.delay_steps - model_cfg.delay_steps  # `train` is already held to the student's delay
    teacher = fit(with_label_delay(train, extra), with_label_delay(val, extra), teacher_cfg,
                  replace(cfg, teacher=False), progress, label=f"{label} teacher").model
    students: dict[tuple[float, float], FitResult] = {}
    settings = TEACHER_SETTINGS if val.recordings else TEACHER_SETTINGS[:1]  # no one to choose on: the first
    for temperature, weight in settings:
        soft = [_probabilities(teacher, rec.x, extra, temperature) for rec in train.recordings]
        students[temperature, weight] = fit(
            train, val, model_cfg, replace(cfg, teacher_temperature=temperature, teacher_weight=weight), progress,
            f"{label} student {setting_name(temperature, weight)}", soft=soft)
    scores = {setting: result.best_validation_accuracy for setting, result in students.items()}
    chosen = max(scores, key=lambda setting: scores[setting] or 0.0)  # the first of equals: the settings' order
    return students[chosen], Taught(teacher, extra, *chosen, {setting_name(*s): v for s, v in scores.items()})


def _probabilities(teacher: TCN, x: np.ndarray, extra: int, temperature: float) -> np.ndarray:
    """The teacher's tempered probabilities for the step each student output names: its own output
    `extra` steps later, the last sample held past the end of the recording."""
    padded = np.concatenate([x, np.repeat(x[-1:], extra, axis=0)]) if extra else x
    return softmax(predict_logits(teacher, padded)[extra:] / temperature).astype(np.float32)
