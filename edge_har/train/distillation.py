"""A teacher that sees both ways (`train --teacher`): per fold, a larger TCN trained on the same
people that names each step from the samples on both sides of it, whose per-step probabilities
the small causal student learns from beside the labels, on every step, the unlabelled ones too.
The teacher never ships: only the student is saved and exported.

The teacher is the project's own TCN with one more block (twice the receptive field) and a label
delay of half its receptive field, so it names the step at the centre of what it sees. Its
probabilities are taken, once, over each whole training recording; near a recording's end, where
the samples after a step are missing, the last sample stands for them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from rich.progress import Progress

from ..core.config import ModelConfig, TrainConfig
from ..core.decoding import softmax
from ..data.dataset import Dataset, with_label_delay
from ..model.tcn import TCN, predict_logits
from .training import FitResult, fit


def teacher_config(student: ModelConfig) -> ModelConfig:
    """One block more than the student, naming the step at the centre of its receptive field (or
    further back, where the student's own delay is longer)."""
    wider = replace(student, blocks=student.blocks + 1)
    return replace(wider, delay_steps=max(student.delay_steps, (wider.receptive_field - 1) // 2))


def fit_distilled(train: Dataset, val: Dataset, model_cfg: ModelConfig, cfg: TrainConfig,
                  progress: Progress | None = None, label: str = "training") -> FitResult:
    """`fit`, after a teacher where `cfg.teacher` asks for one."""
    if not cfg.teacher:
        return fit(train, val, model_cfg, cfg, progress, label)
    teacher_cfg = teacher_config(model_cfg)
    extra = teacher_cfg.delay_steps - model_cfg.delay_steps  # `train` is already held to the student's delay
    teacher = fit(with_label_delay(train, extra), with_label_delay(val, extra), teacher_cfg,
                  replace(cfg, teacher=False), progress, label=f"{label} teacher").model
    soft = [_probabilities(teacher, rec.x, extra, cfg.teacher_temperature) for rec in train.recordings]
    return fit(train, val, model_cfg, cfg, progress, label, soft=soft)


def _probabilities(teacher: TCN, x: np.ndarray, extra: int, temperature: float) -> np.ndarray:
    """The teacher's tempered probabilities for the step each student output names: its own output
    `extra` steps later, the last sample held past the end of the recording."""
    padded = np.concatenate([x, np.repeat(x[-1:], extra, axis=0)]) if extra else x
    return softmax(predict_logits(teacher, padded)[extra:] / temperature).astype(np.float32)
