"""Subject-wise cross-validation: one model per held-out group of people, each fold choosing its
own wear on its own training people and, with --adapt-seconds, adapting its model to each of its
held-out people. Every fold is one job (core/workers.py): here one after another, or Ray tasks;
`cross_validate_shapes` runs the folds of several model shapes (the R ladder's rungs) as one set
of jobs, so a cluster is never idle between rungs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.progress import Progress

from ..core.config import AdaptConfig, ModelConfig, TrainConfig
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
    TeacherReport,
    WearReport,
)
from ..core.workers import HERE, TaskRows, Workers, gpu_share
from ..data.calibration import CALIBRATION_PER_CLASS, WindowSet, sample_windows
from ..data.dataset import Dataset, subject_folds
from ..model.tcn import TCN
from .adaptation import adaptation_curve
from .distillation import fit_distilled
from .training import Evaluation, FitResult, evaluate, label_transitions, use_threads
from .wear import AUTO, dressed
from .wear_trials import WearChoice, choose_wear


def split_validation(subjects: list[str], test: list[str], count: int) -> tuple[list[str], list[str]]:
    """Validation subjects are the next ones after the test group (cyclically), never a test subject."""
    rest = [s for s in subjects if s not in test]
    judges = max(count, 1)  # without validation people, --wear auto's trials still hold one out
    if len(rest) <= judges:
        raise UserError(f"{len(subjects)} subjects are too few: training needs at least {judges + 1} besides the "
                        f"{len(test)} held out for testing ({judges} to judge on: validation or --wear auto's trials)")
    first = (subjects.index(test[-1]) + 1) if test else len(subjects) - count
    ordered = [subjects[(first + i) % len(subjects)] for i in range(len(subjects))]
    val = [s for s in ordered if s in rest][:count]
    return [s for s in rest if s not in val], val


def check_folds(subjects: list[str], cv: str, only: list[str] | None, validation_count: int) -> int:
    """Every fold can be made (test, validation and training people) before any model trains, nor Ray
    starts; the number of folds."""
    plan = subject_folds(subjects, cv, only)
    for _, test in plan:
        split_validation(subjects, test, validation_count)
    return len(plan)


@dataclass(frozen=True)
class AdaptPlan:
    """--adapt-seconds: adapt each fold's model to each held-out person on the first `seconds` of
    each of their activities, replaying the fold's own calibration windows."""

    seconds: list[float]
    config: AdaptConfig


@dataclass
class Fold:
    """One cross-validation fold's model and people, and the replay windows it adapted with."""

    number: int
    model: TCN
    train: Dataset
    test: list[str]
    config: TrainConfig  # the fold's training configuration (its chosen wear)
    replay: WindowSet | None = None  # with an AdaptPlan


@dataclass
class CrossValidated:
    report: CrossValidation
    pooled: Evaluation  # every held-out step of every fold, for the confusion plot
    folds: list[Fold]


@dataclass(frozen=True)
class _Shared:
    """What every fold's job reads (on Ray: put in the object store once)."""

    data: Dataset
    cfg: TrainConfig
    adapt: AdaptPlan | None
    progress: Progress | None  # only where the jobs run in this process


@dataclass(frozen=True)
class _FoldJob:
    model_cfg: ModelConfig
    number: int
    test: list[str]

    @property
    def label(self) -> str:
        return f"R={self.model_cfg.receptive_field} fold {self.number} (test {'+'.join(self.test)})"


@dataclass
class _FoldOutcome:
    job: _FoldJob
    val_subjects: list[str]
    wear: WearChoice | None
    config: TrainConfig
    result: FitResult
    held_out: dict[str, Evaluation]
    teacher: dict[str, TeacherReport]  # held-out person -> the teacher's part, where one taught
    replay: WindowSet | None
    adapted: dict[str, list[AdaptedPoint]]


def _fold_job(shared: _Shared, job: _FoldJob, threads: int | None) -> _FoldOutcome:
    """Train, evaluate and adapt one fold: it seeds itself (fit, adapt), so it gives the same
    wherever it runs."""
    use_threads(threads)
    data, cfg, progress = shared.data, shared.cfg, shared.progress
    train_subjects, val_subjects = split_validation(data.subjects, job.test, cfg.val_subjects)
    wear = choose_wear(data.select(train_subjects + val_subjects), job.model_cfg, cfg, progress,
                       label=f"{job.label}: ") if cfg.wear == AUTO else None
    fold_cfg = dressed(cfg, wear.chosen) if wear else cfg
    if wear and progress:
        progress.console.print(f"{job.label}: {wear.describe()}")
    train = data.select(train_subjects)
    result, taught = fit_distilled(train, data.select(val_subjects), job.model_cfg, fold_cfg, progress,
                                   label=job.label)
    if taught:
        fold_cfg = taught.applied(fold_cfg)
        if progress:
            progress.console.print(f"{job.label}: {taught.describe()}")
    transitions = label_transitions(train)
    held_out = {subject: evaluate(result.model, data.select([subject]), transitions) for subject in job.test}
    teacher = {subject: taught.report(taught.evaluate(data.select([subject]))) for subject in job.test} \
        if taught else {}
    replay, adapted = None, {}
    if shared.adapt:
        replay = sample_windows(train, result.model.receptive_field, CALIBRATION_PER_CLASS, fold_cfg.seed)
        adapted = {subject: adaptation_curve(result.model, data.select([subject]), shared.adapt.seconds, replay,
                                             fold_cfg, shared.adapt.config, progress) for subject in job.test}
    return _FoldOutcome(job, val_subjects, wear, fold_cfg, result, held_out, teacher, replay, adapted)


def cross_validate(data: Dataset, model_cfg: ModelConfig, cfg: TrainConfig, cv: str,
                   progress: Progress | None = None, only: list[str] | None = None,
                   adapt: AdaptPlan | None = None, workers: Workers = HERE) -> CrossValidated:
    """Train one model per test group; report each held-out subject's per-step accuracy.
    `only` runs just the folds that hold out those subjects: a quick look at hard folds.
    `adapt`: also each held-out person's --adapt-seconds points.
    `workers`: where the folds run (here one after another, or as Ray tasks)."""
    return cross_validate_shapes(data, [model_cfg], cfg, cv, progress, only, adapt, workers)[0]


def cross_validate_shapes(data: Dataset, shapes: list[ModelConfig], cfg: TrainConfig, cv: str,
                          progress: Progress | None = None, only: list[str] | None = None,
                          adapt: AdaptPlan | None = None, workers: Workers = HERE) -> list[CrossValidated]:
    """`cross_validate` of each model shape, every fold of every shape one job."""
    check_folds(data.subjects, cv, only, cfg.val_subjects)
    plan = list(subject_folds(data.subjects, cv, only))
    jobs = [_FoldJob(shape, number, test) for shape in shapes for number, test in plan]
    rows = TaskRows(progress, [job.label for job in jobs], live=workers.distributed)

    def landed(index: int, outcome: _FoldOutcome) -> None:
        if outcome.wear and workers.distributed and progress:
            progress.console.print(f"{outcome.job.label}: {outcome.wear.describe()}")
        rows.landed(index, "; ".join(f"accuracy {e.summary['accuracy']:.3f} on {subject}"
                                     + (f" (decoded over time {e.decoded.accuracy:.3f})" if e.decoded else "")
                                     for subject, e in outcome.held_out.items()))

    outcomes = workers.map(_fold_job, _Shared(data, cfg, adapt, None if workers.distributed else progress), jobs,
                           landed, cfg.threads, gpu_share(cfg.device))
    return [_assembled(data, cv, only, cfg, [o for job, o in zip(jobs, outcomes) if job.model_cfg is shape])
            for shape in shapes]


def _assembled(data: Dataset, cv: str, only: list[str] | None, cfg: TrainConfig,
               outcomes: list[_FoldOutcome]) -> CrossValidated:
    folds: list[HeldOutPerson] = []
    models: list[Fold] = []
    pooled = Evaluation({}, np.zeros((len(data.classes),) * 2, dtype=np.int64))
    for outcome in outcomes:
        models.append(Fold(outcome.job.number, outcome.result.model, data.select(_train_subjects(data, outcome)),
                           outcome.job.test, outcome.config, outcome.replay))
        for subject, held_out in outcome.held_out.items():
            pooled.confusion += held_out.confusion
            pooled.predictions.update(held_out.predictions)
            s = held_out.summary
            folds.append(HeldOutPerson(
                test_subject=subject, fold=outcome.job.number, accuracy=s["accuracy"], macro_f1=s["macro_f1"],
                steps=s["steps"], per_class_accuracy=s["per_class_accuracy"], decoded=held_out.decoded,
                change_delay=held_out.change_delay, val_subjects=outcome.val_subjects,
                best_epoch=outcome.result.best_epoch,
                wear=outcome.wear.report() if outcome.wear else WearReport(chosen=cfg.wear),
                train_seconds=round(outcome.result.seconds, 1), device=outcome.result.device,
                adapted=outcome.adapted.get(subject), teacher=outcome.teacher.get(subject)))
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
    return CrossValidated(report, pooled, models)


def _train_subjects(data: Dataset, outcome: _FoldOutcome) -> list[str]:
    return [s for s in data.subjects if s not in outcome.job.test and s not in outcome.val_subjects]


def _mean_delays(delays: list[ChangeDelays]) -> MeanDelays:
    """Each fold's mean and 90th-percentile delay, averaged over the folds that saw a change."""

    def averaged(seen: list[Delay]) -> MeanDelay:
        seen = [d for d in seen if d.changes]
        return MeanDelay(mean=float(np.mean([d.mean for d in seen])) if seen else None,
                         p90=float(np.mean([d.p90 for d in seen])) if seen else None)

    return MeanDelays(unit=delays[0].raw.unit, raw=averaged([d.raw for d in delays]),
                      decoded=averaged([d.decoded for d in delays]))
