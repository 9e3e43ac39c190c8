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
from ..data.dataset import Dataset, subject_folds
from ..model.tcn import TCN
from .training import Evaluation, evaluate, fit, label_transitions
from .wear import AUTO, dressed
from .wear_trials import choose_wear


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


def cross_validate(data: Dataset, model_cfg: ModelConfig, cfg: TrainConfig, cv: str,
                   progress: Progress | None = None, only: list[str] | None = None,
                   per_subject: Callable[[Fold, Dataset], dict] | None = None) -> tuple[dict, Evaluation]:
    """Train one model per test group; report each held-out subject's per-step accuracy.
    `only` runs just the folds that hold out those subjects: a quick look at hard folds.
    `per_subject(fold, held_out_person)` adds its figures to that subject's fold entry."""
    subjects = data.subjects
    folds, pooled = [], Evaluation({}, np.zeros((len(data.classes),) * 2, dtype=np.int64))
    for number, test in subject_folds(subjects, cv, only):
        train_subjects, val_subjects = split_validation(subjects, test, cfg.val_subjects)
        label = f"R={model_cfg.receptive_field} fold {number} (test {'+'.join(test)})"
        wear = choose_wear(data.select(train_subjects + val_subjects), model_cfg, cfg, progress,
                           label=f"{label}: ") if cfg.wear == AUTO else None
        fold_cfg = dressed(cfg, wear.chosen) if wear else cfg
        if wear and progress:
            progress.console.print(f"{label}: {wear.describe()}")
        result = fit(data.select(train_subjects), data.select(val_subjects), model_cfg, fold_cfg, progress,
                     label=label)
        transitions = label_transitions(data.select(train_subjects))
        fold = Fold(number, result.model, data.select(train_subjects), test, fold_cfg)
        for subject in test:
            held_out = evaluate(result.model, data.select([subject]), transitions)
            if progress:
                progress.console.print(f"{label}: accuracy {held_out.summary['accuracy']:.3f} on {subject} "
                                       f"(decoded over time {held_out.decoding['decoded']['accuracy']:.3f})")
            pooled.confusion += held_out.confusion
            pooled.predictions.update(held_out.predictions)
            folds.append({"test_subject": subject, "fold": number, **_fold_summary(held_out),
                          "val_subjects": val_subjects, "best_epoch": result.best_epoch,
                          "wear": wear.as_dict() if wear else {"chosen": cfg.wear},
                          "train_seconds": round(result.seconds, 1), "device": result.device,
                          **(per_subject(fold, data.select([subject])) if per_subject else {})})
    pooled.summary = summarize(pooled.confusion, data.classes)
    accuracies = [f["accuracy"] for f in folds]
    report = {
        "scheme": cv,
        **({"only_folds_holding_out": only} if only else {}),
        "mean_accuracy": float(np.mean(accuracies)),
        "min_accuracy": float(np.min(accuracies)),
        "mean_macro_f1": float(np.mean([f["macro_f1"] for f in folds])),
        "decoded_mean_accuracy": float(np.mean([f["decoded"]["accuracy"] for f in folds])),
        "decoded_mean_macro_f1": float(np.mean([f["decoded"]["macro_f1"] for f in folds])),
        "change_delay_mean_over_folds": _mean_delays(folds),
        "pooled_accuracy": pooled.summary["accuracy"],
        "folds": folds,
    }
    return report, pooled


def _mean_delays(folds: list[dict]) -> dict:
    """Each fold's mean and 90th-percentile delay, averaged over the folds that saw a change."""
    averaged = {"unit": folds[0]["change_delay"]["raw"]["unit"]}
    for name in ("raw", "decoded"):
        seen = [f["change_delay"][name] for f in folds if f["change_delay"][name]["changes"]]
        averaged[name] = {key: float(np.mean([d[key] for d in seen])) if seen else None for key in ("mean", "p90")}
    return averaged


def _fold_summary(evaluation: Evaluation) -> dict:
    s = evaluation.summary
    return {"accuracy": s["accuracy"], "macro_f1": s["macro_f1"], "steps": s["steps"],
            "per_class_accuracy": s["per_class_accuracy"], **evaluation.decoding}
