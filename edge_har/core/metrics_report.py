"""metrics.json as a typed object (DESIGN.md section 4): a run's model, its figures on people it did
not train on (cross-validation, the final model's validation people), the wear it chose and, for
`train --rf auto` or `edge-har adapt`, the ladder or the adaptation.

The trainer and `edge-har adapt` build a MetricsReport and core/reports.py writes it; export and
adapt read it back through core/reports.py. Runs made by older versions lack some parts (`absent`)."""

from __future__ import annotations

from typing import Any

from .report_model import Section, absent


class Figures(Section):
    accuracy: float
    macro_f1: float


class TeacherReport(Section):
    """`--teacher`: the setting the student was kept at (chosen on validation people), each
    setting's validation accuracy, and, for a held-out person, the teacher's own figures there."""

    temperature: float
    weight: float
    validation_accuracy: dict[str, float | None]
    held_out: Figures | None = absent()


class Delay(Section):
    """How late the predicted class follows a change of activity: mean and 90th percentile."""

    changes: int
    mean: float | None
    p90: float | None
    unit: str  # s, or steps where the data states no rate


class ChangeDelays(Section):
    raw: Delay
    decoded: Delay


class Epoch(Section):
    epoch: int
    loss: float
    train_accuracy: float
    val_accuracy: float | None  # None: no validation people


class FinalModel(Section):
    """The model the run keeps, judged on its validation people (never trained on)."""

    validation_subjects: list[str] | None  # []: every person trained (--val-subjects 0)
    validation_accuracy: float | None = absent()
    validation_macro_f1: float | None = absent()
    validation_decoded: Figures | None = absent()
    validation_change_delay: ChangeDelays | None = absent()
    best_epoch: int | None = absent()
    epochs_run: int | None = absent()
    train_seconds: float | None = absent()
    device: str | None = absent()
    history: list[Epoch] | None = absent()
    note: str | None = absent()
    teacher: TeacherReport | None = absent()  # its held_out absent: the final model holds no one out


class WearReport(Section):
    """The way of wearing trained for: chosen by trials (`--wear auto`), or given."""

    chosen: str | None  # None: no wear augmentation asked for (expert flags)
    trial_accuracy: dict[str, float] | None = absent()
    validation_subjects: list[str] | None = absent()


class AdaptedPoint(Section):
    """One point of `--adapt-seconds`: adapted on the first `seconds` of each activity, scored on the rest."""

    seconds: float
    accuracy: float
    macro_f1: float
    unadapted_accuracy: float
    unadapted_macro_f1: float
    adapted_on_steps: int
    scored_steps: int


class HeldOutPerson(Section):
    """One held-out person of one fold."""

    test_subject: str
    fold: int
    accuracy: float
    macro_f1: float
    steps: int
    per_class_accuracy: dict[str, float]
    decoded: Figures | None = absent()
    change_delay: ChangeDelays | None = absent()
    val_subjects: list[str]
    best_epoch: int
    wear: WearReport
    train_seconds: float
    device: str
    adapted: list[AdaptedPoint] | None = absent()
    teacher: TeacherReport | None = absent()


class MeanDelay(Section):
    mean: float | None
    p90: float | None


class MeanDelays(Section):
    unit: str
    raw: MeanDelay
    decoded: MeanDelay


class AdaptedMean(Section):
    """One point of `--adapt-seconds` over the folds."""

    seconds: float
    mean_accuracy: float
    min_accuracy: float
    mean_macro_f1: float
    unadapted_mean_accuracy: float


class CrossValidation(Section):
    scheme: str
    only_folds_holding_out: list[str] | None = absent()
    mean_accuracy: float
    min_accuracy: float
    mean_macro_f1: float
    decoded_mean_accuracy: float
    decoded_mean_macro_f1: float
    change_delay_mean_over_folds: MeanDelays
    pooled_accuracy: float
    folds: list[HeldOutPerson]
    adapted: list[AdaptedMean] | None = absent()
    adaptation: dict[str, Any] | None = absent()  # the AdaptConfig the points were adapted with


class Rung(Section):
    """One receptive field of `--rf auto`'s ladder: its shape, cost and cross-validated figures."""

    receptive_field: int
    kernel_size: int
    blocks: int
    filters: int
    params: int
    macs_per_step: int
    accuracy: float | None
    min_fold_accuracy: float | None
    macro_f1: float | None = absent()
    skipped: str | None = absent()  # why: over --max-params or --max-macs
    chosen: bool | None = absent()  # where the ladder chose a rung


class Ladder(Section):
    ladder: list[Rung]
    reason: str


class WindowFigure(Section):
    before: float
    after: float
    subjects: list[str] | None = absent()
    note: str


class Adaptation(Section):
    """`edge-har adapt`: what the wearer's steps were and what adaptation did."""

    config: dict[str, Any]  # the AdaptConfig
    labelled_steps: int
    labelled_per_class: dict[str, float]
    labelled_per_class_unit: str
    seconds_taken: float
    wearer_accuracy: WindowFigure
    parent_holdout_accuracy: WindowFigure


class AdaptedFrom(Section):
    run: str
    subjects: list[str] | None


class MetricsReport(Section):
    format_version: int = 0  # stamped by core/reports.py when written
    receptive_field: int
    classes: list[str]
    sample_rate_hz: float | None
    params: int
    macs_per_step: int | None = absent()
    macs_per_window: int | None = absent()
    model: dict[str, Any] | None = absent()  # the ModelConfig, as config.json holds it
    data_source: str | None = absent()
    synthetic_data: bool | None = absent()
    subjects: list[str] | None = absent()
    final: FinalModel | None = absent()
    cv: CrossValidation | None = absent()
    rf_search: Ladder | None = absent()
    input_units: str | None = absent()
    wear: WearReport | None = absent()
    adapted_from: AdaptedFrom | None = absent()
    adaptation: Adaptation | None = absent()
