"""Subject-wise cross-validation: one model per held-out group of people, each fold choosing its
own wear on its own training people."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from rich.progress import Progress

from ..core.config import ModelConfig, TrainConfig
from ..core.errors import UserError
from ..core.metrics import summarize
from ..core.metrics_report import (
    AdaptedPoint,
    ChangeDelays,
    CrossValidation,
    Delay,
    HeldOutPerson,
    MeanDelay,
    MeanDelays,
    WearReport,
)
from ..data.dataset import Dataset, subject_folds
from ..model.tcn import TCN
from .training import Evaluation, FitResult, evaluate, fit, label_transitions
from .wear import AUTO, dressed
from .wear_trials import WearChoice, choose_wear
from .workers import HERE, Workers


def split_validation(subjects: list[str], test: list[str], count: int) -> tuple[list[str], list[str]]:
    """Validation subjects are the next ones after the test group (cyclically), never a test subject."""
    rest = [s for s in subjects if s not in test]
    if len(rest) <= count:
        raise UserError(f"{len(subjects)} subjects are too few: training needs at least one subject "
                        f"besides {count} for validation and {len(test)} for testing")
    first = (subjects.index(test[-1]) + 1) if test else len(subjects) - count
    ordered = [subjects[(first + i) % len(subjects)] for i in range(len(subjects))]
    val = [s for s in ordered if s in rest][:count]
    return [s for s in rest if s not in val], val


@dataclass
class Fold:
    """One cross-validation fold's model and people, for what a caller measures beside it."""

    number: int
    model: TCN
    train: Dataset
    test: list[str]
    config: TrainConfig  # the fold's training configuration (its chosen wear)


@dataclass(frozen=True)
class _Shared:
    """What every fold's job reads (on Ray: put in the object store once)."""

    data: Dataset
    model_cfg: ModelConfig
    cfg: TrainConfig
    progress: Progress | None  # only where the jobs run in this process


@dataclass
class _FoldOutcome:
    number: int
    test: list[str]
    val_subjects: list[str]
    wear: WearChoice | None
    config: TrainConfig
    result: FitResult
    held_out: dict[str, Evaluation]


def _fold_job(shared: _Shared, fold: tuple[int, list[str]], threads: int | None) -> _FoldOutcome:
    """Train and evaluate one fold: it seeds itself (fit), so it gives the same wherever it runs."""
    number, test = fold
    data, model_cfg, cfg, progress = shared.data, shared.model_cfg, shared.cfg, shared.progress
    train_subjects, val_subjects = split_validation(data.subjects, test, cfg.val_subjects)
    label = _label(model_cfg, number, test)
    wear = choose_wear(data.select(train_subjects + val_subjects), model_cfg, cfg, progress,
                       label=f"{label}: ") if cfg.wear == AUTO else None
    fold_cfg = dressed(cfg, wear.chosen) if wear else cfg
    if wear and progress:
        progress.console.print(f"{label}: {wear.describe()}")
    result = fit(data.select(train_subjects), data.select(val_subjects), model_cfg, fold_cfg, progress, label=label)
    transitions = label_transitions(data.select(train_subjects))
    held_out = {subject: evaluate(result.model, data.select([subject]), transitions) for subject in test}
    return _FoldOutcome(number, test, val_subjects, wear, fold_cfg, result, held_out)


def _label(model_cfg: ModelConfig, number: int, test: list[str]) -> str:
    return f"R={model_cfg.receptive_field} fold {number} (test {'+'.join(test)})"


def cross_validate(data: Dataset, model_cfg: ModelConfig, cfg: TrainConfig, cv: str,
                   progress: Progress | None = None, only: list[str] | None = None,
                   adapted: Callable[[Fold, Dataset], list[AdaptedPoint]] | None = None,
                   workers: Workers = HERE) -> tuple[CrossValidation, Evaluation]:
    """Train one model per test group; report each held-out subject's per-step accuracy.
    `only` runs just the folds that hold out those subjects: a quick look at hard folds.
    `adapted(fold, held_out_person)`: that person's --adapt-seconds points, added to their entry.
    `workers`: where the folds run (here one after another, or as Ray tasks)."""
    plan = list(subject_folds(data.subjects, cv, only))
    shared = _Shared(data, model_cfg, cfg, None if workers.distributed else progress)
    task = progress.add_task(f"R={model_cfg.receptive_field}: folds on {workers.count or 'the cluster'}'s workers",
                             total=len(plan), stats="") if progress and workers.distributed else None

    def landed(index: int, outcome: _FoldOutcome) -> None:
        if progress is None:
            return
        label = _label(model_cfg, outcome.number, outcome.test)
        if outcome.wear and workers.distributed:
            progress.console.print(f"{label}: {outcome.wear.describe()}")
        for subject, held_out in outcome.held_out.items():
            progress.console.print(f"{label}: accuracy {held_out.summary['accuracy']:.3f} on {subject} "
                                   + (f"(decoded over time {held_out.decoded.accuracy:.3f})" if held_out.decoded else ""))
        if task is not None:
            progress.advance(task)

    outcomes = workers.map(_fold_job, shared, plan, landed, cfg.threads)
    folds: list[HeldOutPerson] = []
    pooled = Evaluation({}, np.zeros((len(data.classes),) * 2, dtype=np.int64))
    for outcome in outcomes:
        fold = Fold(outcome.number, outcome.result.model, data.select(_train_subjects(data, outcome)), outcome.test,
                    outcome.config)
        for subject, held_out in outcome.held_out.items():
            pooled.confusion += held_out.confusion
            pooled.predictions.update(held_out.predictions)
            s = held_out.summary
            folds.append(HeldOutPerson(
                test_subject=subject, fold=outcome.number, accuracy=s["accuracy"], macro_f1=s["macro_f1"],
                steps=s["steps"], per_class_accuracy=s["per_class_accuracy"], decoded=held_out.decoded,
                change_delay=held_out.change_delay, val_subjects=outcome.val_subjects,
                best_epoch=outcome.result.best_epoch,
                wear=outcome.wear.report() if outcome.wear else WearReport(chosen=cfg.wear),
                train_seconds=round(outcome.result.seconds, 1), device=outcome.result.device,
                adapted=adapted(fold, data.select([subject])) if adapted else None))
    pooled.summary = summarize(pooled.confusion, data.classes)
    decoded = [f.decoded for f in folds if f.decoded]  # every fold is decoded: it learns its transitions
    report = CrossValidation(
        scheme=cv,
        only_folds_holding_out=only or None,
        mean_accuracy=float(np.mean([f.accuracy for f in folds])),
        min_accuracy=float(np.min([f.accuracy for f in folds])),
        mean_macro_f1=float(np.mean([f.macro_f1 for f in folds])),
        decoded_mean_accuracy=float(np.mean([d.accuracy for d in decoded])),
        decoded_mean_macro_f1=float(np.mean([d.macro_f1 for d in decoded])),
        change_delay_mean_over_folds=_mean_delays([f.change_delay for f in folds if f.change_delay]),
        pooled_accuracy=pooled.summary["accuracy"],
        folds=folds,
    )
    return report, pooled


def _train_subjects(data: Dataset, outcome: _FoldOutcome) -> list[str]:
    return [s for s in data.subjects if s not in outcome.test and s not in outcome.val_subjects]


def _mean_delays(delays: list[ChangeDelays]) -> MeanDelays:
    """Each fold's mean and 90th-percentile delay, averaged over the folds that saw a change."""

    def averaged(seen: list[Delay]) -> MeanDelay:
        seen = [d for d in seen if d.changes]
        return MeanDelay(mean=float(np.mean([d.mean for d in seen])) if seen else None,
                         p90=float(np.mean([d.p90 for d in seen])) if seen else None)

    return MeanDelays(unit=delays[0].raw.unit, raw=averaged([d.raw for d in delays]),
                      decoded=averaged([d.decoded for d in delays]))
