"""`edge-har train` as a function: data in, a finished run directory out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from rich.console import Console

from ..core.config import DEFAULT_DELAY_S, DEFAULT_MEMORY_S, AdaptConfig, ModelConfig, RunConfig, TrainConfig
from ..core.console import job_progress, styled, user_console
from ..core.errors import DataError, UserError
from ..core.files import MB, check_new_folder, staged_dir, write_json
from ..core.metrics_report import CrossValidation, FinalModel, Ladder, MetricsReport, WearReport
from ..core.reports import write_report
from ..core.workers import Workers
from ..data.calibration import CALIBRATION_PER_CLASS, sample_windows, spread_windows
from ..data.dataset import (
    HELD_BACK,
    Dataset,
    at_rate,
    check_cv,
    held_back_time,
    keep_classes,
    remembered,
    units_of,
    with_label_delay,
)
from ..data.loading import load_data, synthetic_note
from ..eval import plots
from ..model.run_folder import (
    CALIBRATION_FILE,
    CONFIG_FILE,
    DECODING_FILE,
    HOLDOUT_FILE,
    METRICS_FILE,
    default_run_dir,
    save_model,
)
from ..model.tcn import config_for_receptive_field, count_params, macs_per_step, macs_per_window
from .adaptation import rows_summary
from .cross_validation import AdaptPlan, Fold, check_folds, cross_validate, split_validation
from .distillation import Taught, fit_distilled
from .rf_search import Budget, SearchResult, search_receptive_field
from .training import Evaluation, FitResult, evaluate, label_transitions
from .wear import AUTO, dressed
from .wear_trials import choose_wear

FOLDS_DIR = "folds"  # with --adapt-seconds: each fold's model and replay windows, what adaptation started from
HOLDOUT_WINDOWS = 2000  # windows spread over the validation subject(s), for export's parity gate
HELD_BACK_SHARE = 0.2  # of each activity of a lone person's recordings: their validation time


@dataclass
class TrainOptions:
    data: str | None = None
    out: Path | None = None
    model: ModelConfig = field(default_factory=lambda: ModelConfig(num_classes=0))
    train: TrainConfig = field(default_factory=TrainConfig)
    cv: str | None = None
    cv_folds: list[str] | None = None  # run only the folds holding out these subjects
    rf: str | None = None  # None: the model options as given; "auto": search; "N": that R
    budget: Budget = field(default_factory=Budget)
    classes: list[str] | None = None
    subjects: list[str] | None = None  # train on these only (leave the others out entirely)
    sample_rate_hz: float | None = None  # the rate of data that does not state one
    rate_hz: float | None = None  # the model's rate; None: the rate of most of the data
    units: str | None = None  # the data's units (g, m/s2, counts); None: as the data states, or judged from gravity
    adapt_seconds: list[float] | None = None  # per CV fold: adapt to the held-out person on N s of each activity
    adapt: AdaptConfig = field(default_factory=AdaptConfig)
    delay_s: float | None = None  # label the step this many seconds back (ModelConfig.delay_steps); None: the default
    memory_s: float | None = None  # the readings' memory, time constant in seconds (ModelConfig.memory_s); None: the default
    force: bool = False  # replace an existing `out` (once the new run is complete)
    workers: Workers = field(default_factory=Workers)  # where cross-validation folds run


RUN_BYTES = 50 * MB  # room a run needs: models, window sets and plots (a few MB), and folds with --adapt-seconds


def check_options(opts: TrainOptions, out: Path) -> None:
    """Every option and the destination, before the data is loaded and hours of training begin."""
    check_new_folder(out, force=opts.force, need_bytes=RUN_BYTES)
    opts.workers.check()
    if opts.train.threads is not None and opts.train.threads < 1:
        raise UserError(f"--threads {opts.train.threads}: give 1 or more")
    if opts.cv is not None:
        check_cv(opts.cv)
    for name, value in (("--sample-rate", opts.sample_rate_hz), ("--rate", opts.rate_hz)):
        if value is not None and not value > 0:
            raise UserError(f"{name} must be a positive number of Hz, not {value:g}")


def train(opts: TrainOptions, console: Console | None = None) -> Path:
    console = console or user_console()
    out = opts.out or default_run_dir()
    check_options(opts, out)
    data, model_cfg, units = prepared(opts, console)
    _check_adaptation(opts, data)
    if opts.rf != "auto":
        _check_trainable(data, model_cfg.receptive_field)
    cv, ladder = opts.cv or ("loso" if opts.cv_folds else None), None
    train_cfg, wear, adapted_folds = opts.train, None, None
    if len(data.subjects) == 1:
        data = _one_person(data, cv, opts, console)
        train_cfg = replace(train_cfg, val_subjects=1)  # its held-back time: the only figure such a run has
    if cv or opts.rf == "auto":  # a fold that cannot be made is said now, not after the wear trials
        _check_folds(data, cv or "loso", opts, console)
    with job_progress(console) as progress:
        if train_cfg.wear == AUTO:  # for the final model, on all its people (each CV fold chooses on its own)
            wear = choose_wear(data, model_cfg, train_cfg, progress, label="final model: ", workers=opts.workers)
            console.print(wear.describe())
        final_cfg = dressed(train_cfg, wear.chosen) if wear else train_cfg
        if opts.rf == "auto":
            cv = cv or "loso"
            console.print(f"Searching the receptive-field ladder with {cv} cross-validation"
                          + (f" and --wear {wear.chosen} (chosen once, before the ladder)" if wear else ""))
            search = search_receptive_field(data, model_cfg, final_cfg, cv, opts.budget, progress,
                                            only=opts.cv_folds, workers=opts.workers)
            if search.chosen is None:
                raise UserError(f"--rf auto: {search.reason}")
            console.print(f"Chose R = {search.chosen.receptive_field}: {search.reason}")
            model_cfg, cv_report, pooled, ladder = search.chosen, search.cv, search.pooled, search
            _check_trainable(data, model_cfg.receptive_field)
        elif cv:
            plan = AdaptPlan(opts.adapt_seconds, opts.adapt) if opts.adapt_seconds else None
            done = cross_validate(data, model_cfg, train_cfg, cv, progress, opts.cv_folds, plan, opts.workers)
            cv_report, pooled = done.report, done.pooled
            if plan:
                cv_report.adapted = rows_summary(cv_report.folds)
                cv_report.adaptation = asdict(opts.adapt)
                adapted_folds = done.folds
        else:
            cv_report = pooled = None
        train_subjects, val_subjects = split_validation(data.subjects, [], final_cfg.val_subjects)
        final, taught = fit_distilled(data.select(train_subjects), data.select(val_subjects), model_cfg, final_cfg,
                                      progress, label=f"final model ({_validation_label(val_subjects)})")
        if taught:
            final_cfg = taught.applied(final_cfg)
            console.print(f"final model: {taught.describe()}")
    transitions = label_transitions(data.select(train_subjects))
    validation = evaluate(final.model, data.select(val_subjects), transitions) if val_subjects else None
    with staged_dir(out, replace=opts.force) as folder:
        run_config = RunConfig(model_cfg, final_cfg, data.source, data.synthetic, data.classes,
                               data.sample_rate_hz, cv, opts.rf, cv_folds=opts.cv_folds, input_units=units)
        run_config.save(folder / CONFIG_FILE)
        save_model(folder, final.model, data.classes, data.sample_rate_hz)
        write_json(folder / DECODING_FILE, {"transitions": transitions.as_dict(), "classes": data.classes,
                                            "from_labels_of": train_subjects})
        r = final.model.receptive_field
        sample_windows(data.select(train_subjects), r, CALIBRATION_PER_CLASS, opts.train.seed).save(folder / CALIBRATION_FILE)
        # export's gate judges on these: the validation people's, or where every person trained, theirs
        spread_windows(data.select(val_subjects or train_subjects), r, HOLDOUT_WINDOWS).save(folder / HOLDOUT_FILE)
        if adapted_folds:
            _save_folds(adapted_folds, folder / FOLDS_DIR, data)
        metrics = _metrics(data, final, taught, validation, cv_report, ladder, units,
                           wear.report() if wear else WearReport(chosen=final_cfg.wear))
        write_report(folder / METRICS_FILE, metrics)
        _plots(folder, data, final, validation, pooled, ladder)
    _report(console, out, metrics, data)
    return out


def _validation_label(val_subjects: list[str]) -> str:
    return f"validation {'+'.join(val_subjects)}" if val_subjects else "every person, the last epoch kept"


def prepared(opts: TrainOptions, console: Console) -> tuple[Dataset, ModelConfig, str]:
    """The data as training takes it (its people, classes and rate, labels held to the label delay),
    the model's configuration and the data's units."""
    data = _load(opts, console)
    units, why = units_of(data, opts.units)
    console.print(f"Input units: {units} ({why})")
    model_cfg = _model_config(opts, len(data.classes), _delay_steps(opts.delay_s, data, console))
    reach = model_cfg.receptive_field - 1
    if opts.delay_s is None and opts.rf != "auto" and model_cfg.delay_steps > reach:
        console.print(f"Label delay: {reach} steps, the most R = {model_cfg.receptive_field} sees (not the default "
                      f"{DEFAULT_DELAY_S:g} s)")
        model_cfg = replace(model_cfg, delay_steps=reach)
    _check_delay(model_cfg, opts.rf, data.sample_rate_hz)
    model_cfg = replace(model_cfg, memory_s=_memory_s(opts, data, console))
    return with_label_delay(remembered(data, model_cfg), model_cfg.delay_steps), model_cfg, units


def _memory_s(opts: TrainOptions, data: Dataset, console: Console) -> float:
    """--memory in seconds; not given: DEFAULT_MEMORY_S where the rate is known (none with --magnitude,
    which it does not join yet), else none (said)."""
    seconds = opts.memory_s
    if seconds is not None and seconds < 0:
        raise UserError(f"--memory is a time constant in seconds, 0 or more, not {seconds:g}")
    if seconds and opts.model.magnitude:
        raise UserError("--memory and --magnitude do not go together yet: give --memory 0 with --magnitude")
    if seconds is None:
        if opts.model.magnitude:
            return 0.0
        if not data.sample_rate_hz:
            console.print(f"Memory: none, since {data.source} states no sample rate (with --sample-rate HZ the model "
                          f"would remember the readings over {DEFAULT_MEMORY_S:g} s, the default)")
            return 0.0
        seconds = DEFAULT_MEMORY_S
    if seconds and not data.sample_rate_hz:
        raise UserError(f"{data.source} states no sample rate, so --memory {seconds:g} s cannot be counted in steps: "
                        "declare it with --sample-rate HZ")
    if seconds:
        console.print(f"Memory: the model also reads the axes' average over the last {seconds:g} s (time constant)")
    return float(seconds)


def _check_folds(data: Dataset, cv: str, opts: TrainOptions, console: Console) -> None:
    folds = check_folds(data.subjects, cv, opts.cv_folds, opts.train.val_subjects)
    count = opts.workers.count
    if count and opts.workers.address is None and count > folds and opts.rf != "auto":
        console.print(f"--workers {count}: {folds} folds, so at most {folds} workers have a fold at once "
                      "(the wear trials run on up to 3)")


def _load(opts: TrainOptions, console: Console) -> Dataset:
    data = load_data(opts.data, opts.sample_rate_hz, seed=opts.train.seed)
    if opts.subjects:
        data = data.select(opts.subjects)
    if opts.classes:
        data = keep_classes(data, opts.classes)
    data, notes = at_rate(data, opts.rate_hz)
    for note in notes:
        console.print(styled(("Rate:", "bold"), f" {note}"))
    if data.synthetic:
        console.print(styled((synthetic_note(opts.data), "bold yellow"),
                             " (simulated people; accuracy on it says nothing about real recordings)"))
    console.print(f"Data: {data.describe()}")
    return data


def _one_person(data: Dataset, cv: str | None, opts: TrainOptions, console: Console) -> Dataset:
    """One person's recordings train too: the model validates (and `--wear auto` judges) on a
    held-back share of the time of each of their activities, and says so: no figure of such a run
    is on an unseen person."""
    person = data.subjects[0]
    if cv or opts.rf == "auto":
        what = "--rf auto" if opts.rf == "auto" and not cv else f"--cv {cv}"
        raise UserError(f"{what} holds people out, and {data.source} holds one ({person}): cross-validation needs at "
                        "least 3 subjects (test, validation, training); record more people (one CSV file each, in one "
                        f"folder) or train without {what.split()[0]}")
    split = held_back_time(data, HELD_BACK_SHARE)
    console.print(styled((f"One person ({person}) in the data:", "bold yellow"), " the model validates on the last "
                  f"{HELD_BACK_SHARE:.0%} of each of their activities ({split.subjects[1]}); its figures are NOT "
                  "on an unseen person, only on unseen minutes of this one"))
    return split


def _check_adaptation(opts: TrainOptions, data: Dataset) -> None:
    """--adapt-seconds needs cross-validation (the held-out people) and a rate to count seconds in."""
    if not opts.adapt_seconds:
        return
    if not (opts.cv or opts.cv_folds) or opts.rf == "auto":
        raise UserError("--adapt-seconds measures adaptation to each held-out person: give --cv (and a fixed R, "
                        "not --rf auto)")
    if any(s <= 0 for s in opts.adapt_seconds):
        raise UserError(f"--adapt-seconds must be positive numbers of seconds, not {opts.adapt_seconds}")
    if not data.sample_rate_hz:
        raise UserError(f"{data.source} states no sample rate, so seconds cannot be counted for --adapt-seconds: "
                        "declare it with --sample-rate HZ")


def _save_folds(folds: list[Fold], folder: Path, data: Dataset) -> None:
    """Each fold's model and replay windows, what its --adapt-seconds adaptations started from."""
    for fold in folds:
        where = folder / f"fold-{fold.number}"
        where.mkdir(parents=True)
        save_model(where, fold.model, data.classes, data.sample_rate_hz)
        if fold.replay is not None:
            fold.replay.save(where / CALIBRATION_FILE)
        write_json(where / "fold.json", {"test_subjects": fold.test, "train_subjects": fold.train.subjects,
                                         "train_config": asdict(fold.config)})


def _check_trainable(data: Dataset, receptive_field: int) -> None:
    """Refuse data a model cannot learn from, instead of training on it and reporting 1.000."""
    if len(data.classes) < 2:
        raise DataError(f"{data.source}: only one class ({', '.join(data.classes)}); a classifier needs at least two "
                        "(record each activity with `edge-har record --label NAME --out DATA/PERSON/NAME.csv`: a "
                        "sub-folder of DATA holds one person, its files their activities; then `--data DATA`)")
    short = [f"{r.subject} ({len(r)})" for r in data.recordings if len(r) < receptive_field]
    if short:
        rate = data.sample_rate_hz
        need = f"{receptive_field} samples" + (f", {receptive_field / rate:.1f} s" if rate else "")
        raise DataError(f"{data.source}: recording(s) shorter than the receptive field R = {receptive_field} "
                        f"({need}): {', '.join(short[:5])}; record longer or choose a smaller --rf")


def _delay_steps(seconds: float | None, data: Dataset, console: Console) -> int:
    """--delay in model steps, at the model's rate; not given: DEFAULT_DELAY_S where the rate is
    known, else none (said)."""
    if seconds is None:
        if not data.sample_rate_hz:
            console.print(f"Label delay: none, since {data.source} states no sample rate (with --sample-rate HZ the "
                          f"model would name the step {DEFAULT_DELAY_S:g} s back, the default)")
            return 0
        seconds = DEFAULT_DELAY_S
    if seconds < 0:
        raise UserError(f"--delay is a lag in seconds, 0 or more, not {seconds:g}")
    if not seconds:
        return 0
    if not data.sample_rate_hz:
        raise UserError(f"{data.source} states no sample rate, so --delay {seconds:g} s cannot be counted in "
                        "steps: declare it with --sample-rate HZ")
    steps = int(round(seconds * data.sample_rate_hz))
    console.print(f"Label delay: each output names the step {steps} samples ({steps / data.sample_rate_hz:g} s) "
                  "before the newest")
    return steps


def _model_config(opts: TrainOptions, num_classes: int, delay_steps: int = 0) -> ModelConfig:
    config = replace(opts.model, num_classes=num_classes, delay_steps=delay_steps)
    if opts.rf not in (None, "auto"):
        if not opts.rf.isdigit():
            raise UserError(f"--rf must be 'auto' or a number of samples, not {opts.rf!r}")
        kernel_size, blocks = config_for_receptive_field(int(opts.rf))
        config = replace(config, kernel_size=kernel_size, blocks=blocks)
    return config


def _check_delay(config: ModelConfig, rf: str | None, rate_hz: float | None) -> None:
    """The step a label delay names must be one the model sees."""
    reach = config.receptive_field - 1
    if rf == "auto" or config.delay_steps <= reach or not rate_hz:
        return
    raise UserError(f"--delay {config.delay_steps / rate_hz:g} s reaches beyond the receptive field (R = "
                    f"{config.receptive_field} sees {reach / rate_hz:g} s back from the newest sample), so the model "
                    f"would name a step it cannot see: give --delay {reach / rate_hz:g} or less, or a larger --rf")


def _metrics(data: Dataset, final: FitResult, taught: Taught | None, validation: Evaluation | None,
             cv_report: CrossValidation | None,
             search: SearchResult | None, units: str, wear: WearReport) -> MetricsReport:
    config = final.model.config
    return MetricsReport(
        receptive_field=final.model.receptive_field,
        classes=data.classes,
        sample_rate_hz=data.sample_rate_hz,
        params=count_params(final.model),
        macs_per_step=macs_per_step(config),
        macs_per_window=macs_per_window(config),
        model=asdict(config),
        data_source=data.source,
        synthetic_data=data.synthetic,
        subjects=data.subjects,
        final=FinalModel(
            validation_subjects=final.val_subjects,
            validation_accuracy=validation.summary["accuracy"] if validation else None,
            validation_macro_f1=validation.summary["macro_f1"] if validation else None,
            validation_decoded=validation.decoded if validation else None,
            validation_change_delay=validation.change_delay if validation else None,
            best_epoch=final.best_epoch,
            epochs_run=len(final.history),
            train_seconds=round(final.seconds, 1),
            device=final.device,
            history=final.history,
            teacher=taught.report() if taught else None,
        ),
        cv=cv_report,
        rf_search=Ladder(ladder=search.ladder, reason=search.reason) if search else None,
        input_units=units,
        wear=wear,
    )


def _plots(folder: Path, data: Dataset, final: FitResult, validation: Evaluation | None,
           pooled: Evaluation | None, search: SearchResult | None) -> None:
    held_out = pooled or validation
    scope = "held-out subjects (cross-validation)" if pooled else f"validation subject(s) {final.val_subjects}"
    tag = " [SYNTHETIC data]" if data.synthetic else ""
    plots.training_curves(final.history, final.best_epoch, folder / "training_curves.png", f"final model{tag}")
    if search:
        plots.rf_ladder(search.ladder, folder / "rf_ladder.png", f"receptive-field ladder{tag}")
    if held_out is None:  # every person trained and none was held out: no figure on people it never saw
        return
    plots.confusion(held_out.confusion, data.classes, folder / "confusion.png", f"{scope}{tag}")
    subject = next(iter(held_out.predictions))
    recording = data.select([subject]).recordings[0]
    plots.timeline(recording.y, held_out.predictions[subject][0], data.classes, folder / "timeline.png",
                   f"{subject}, held out: predicted vs true{tag}", data.sample_rate_hz)


def _delay(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _report(console: Console, out: Path, metrics: MetricsReport, data: Dataset) -> None:
    tag = " (SYNTHETIC data)" if data.synthetic else ""
    console.print(f"R = {metrics.receptive_field}, {metrics.params} params, {metrics.macs_per_step} MACs per step")
    cv = metrics.cv
    if cv:
        folds = ", ".join(f"{f.test_subject} {f.accuracy:.3f}" for f in cv.folds)
        scope = f", only the folds holding out {', '.join(cv.only_folds_holding_out)}" \
            if cv.only_folds_holding_out else ""
        console.print(f"Cross-validation ({cv.scheme}{scope}){tag}: mean per-step accuracy "
                      f"{cv.mean_accuracy:.4f}, lowest {cv.min_accuracy:.4f}; {folds}")
        delays = cv.change_delay_mean_over_folds
        console.print(f"Decoded over time (forward filter): mean accuracy {cv.decoded_mean_accuracy:.4f}, "
                      f"macro-F1 {cv.decoded_mean_macro_f1:.4f} (raw {cv.mean_macro_f1:.4f}); delay after a "
                      f"change of activity, mean {_delay(delays.decoded.mean)} (raw {_delay(delays.raw.mean)}) "
                      f"{delays.unit}{'' if delays.unit == 's' else ' (the data states no sample rate: --sample-rate)'}")
        for row in cv.adapted or []:
            console.print(f"Adapted on {row.seconds:g} s of each activity of the held-out person: mean accuracy on "
                          f"the rest of their steps {row.mean_accuracy:.4f} (lowest {row.min_accuracy:.4f}; "
                          f"unadapted on the same steps {row.unadapted_mean_accuracy:.4f})")
    final = metrics.final
    assert final is not None and final.validation_subjects is not None  # train always writes them
    if final.validation_accuracy is None:
        console.print(f"Final model: trained on every person, its last epoch kept ({len(metrics.subjects or [])} "
                      "people, none held out)" + ("" if cv else "; for figures on people it never saw, train with "
                                                  "--cv loso (or keep one out: --val-subjects 1)"))
    else:
        lone = any(s.endswith(f":{HELD_BACK}") for s in final.validation_subjects)
        console.print(f"Final model: validation accuracy {final.validation_accuracy:.4f}{tag} "
                      f"on {final.validation_subjects}"
                      + (" (held-back minutes of the one person trained on, NOT an unseen person)" if lone else ""))
    console.print(f"Run written to {out}", style="bold green")
