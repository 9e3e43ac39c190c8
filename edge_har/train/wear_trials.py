"""`--wear auto`: short trials of each way of wearing, kept by accuracy on people held out of the
trial (the training people only: inside each cross-validation fold, that fold's)."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from rich.progress import Progress

from ..core.config import ModelConfig, TrainConfig
from ..core.metrics_report import WearReport
from ..core.workers import HERE, TaskRows, Workers, gpu_share
from ..data.dataset import Dataset
from .training import evaluate, fit, use_threads
from .wear import MIN_TRIAL_EPOCHS, TIE, TRIAL_EPOCH_SHARE, WEARS, dressed, most_general_of_the_best


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

    def report(self) -> WearReport:
        return WearReport(chosen=self.chosen, trial_accuracy=self.accuracy, validation_subjects=self.validation_subjects)


@dataclass(frozen=True)
class _Trials:
    """What every trial's job reads (on Ray: put in the object store once)."""

    train: Dataset
    validation: Dataset
    model_cfg: ModelConfig
    trial: TrainConfig
    progress: Progress | None  # only where the trials run in this process
    label: str


def _trial_job(shared: _Trials, name: str, threads: int | None) -> float:
    """One wear's trial: its mean accuracy over the validation people (fit seeds itself)."""
    use_threads(threads)
    result = fit(shared.train, shared.validation, shared.model_cfg, dressed(shared.trial, name), shared.progress,
                 label=f"{shared.label}wear trial '{name}'")
    return float(np.mean([evaluate(result.model, shared.validation.select([s])).summary["accuracy"]
                          for s in shared.validation.subjects]))


def choose_wear(data: Dataset, model_cfg: ModelConfig, cfg: TrainConfig, progress: Progress | None = None,
                label: str = "", workers: Workers = HERE) -> WearChoice:
    """Train each way of wearing briefly on some of `data`'s subjects and keep the one with the
    best mean accuracy over the others (a third of them, at least one); ties (within TIE) go to
    the more general wear. Each trial is a job on `workers`."""
    subjects = data.subjects
    held = max(1, len(subjects) // 3)
    train_subjects, val_subjects = subjects[:-held], subjects[-held:]
    # A trial ranks wears; a teacher would double its cost and change no ranking it is asked for
    trial = replace(cfg, epochs=min(cfg.epochs, max(MIN_TRIAL_EPOCHS, cfg.epochs // TRIAL_EPOCH_SHARE)), teacher=False)
    names = list(WEARS)
    rows = TaskRows(progress, [f"{label}wear trial '{name}'" for name in names], live=workers.distributed)
    shared = _Trials(data.select(train_subjects), data.select(val_subjects), model_cfg, trial,
                     None if workers.distributed else progress, label)
    scores = workers.map(_trial_job, shared, names, lambda i, score: rows.landed(i, f"validation accuracy {score:.3f}"),
                         cfg.threads, gpu_share(cfg.device))
    accuracy = dict(zip(names, scores))
    return WearChoice(most_general_of_the_best(accuracy), accuracy, val_subjects)
