"""`edge-har adapt` as a function: a trained run and a few labelled seconds of one wearer in, a new
self-describing run out, which export, parity and stream take like any other."""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
from rich.console import Console

from ..core.config import AdaptConfig
from ..core.console import job_progress, styled, user_console
from ..core.files import check_new_folder, staged_dir
from ..core.labels import UNLABELED
from ..core.metrics_report import Adaptation, AdaptedFrom, FinalModel, MetricsReport, WindowFigure
from ..core.reports import write_report
from ..core.units import factor
from ..data.calibration import CALIBRATION_PER_CLASS, WindowSet, load_windows, sample_windows
from ..data.dataset import Dataset, at_rate, remembered, units_of, with_label_delay
from ..data.loading import load_data
from ..model.run_folder import CALIBRATION_FILE, CONFIG_FILE, DECODING_FILE, HOLDOUT_FILE, METRICS_FILE, Run, save_model
from ..model.tcn import TCN, count_params, macs_per_step, macs_per_window
from .adaptation import adapt_model, wearer_dataset
from .training import evaluate

WEARER = "wearer"  # the one person `adapt` data is, whatever its files are called


@dataclass
class AdaptOptions:
    run: Path
    data: str  # the wearer's labelled recordings (what `edge-har record --label` writes)
    out: Path
    config: AdaptConfig = field(default_factory=AdaptConfig)
    sample_rate_hz: float | None = None  # the rate of data that does not state one
    units: str | None = None  # the data's units; None: as the data states, or judged from gravity
    force: bool = False  # replace an existing `out` (only once the new run is complete)


def adapt(opts: AdaptOptions, console: Console | None = None) -> Path:
    console = console or user_console()
    check_new_folder(opts.out, force=opts.force)
    parent = Run(opts.run)
    wearer = _wearer(opts, parent, console)
    channels = parent.model.config.input_channels
    replay = load_windows(parent.folder / CALIBRATION_FILE, parent.receptive_field, channels)
    holdout = load_windows(parent.folder / HOLDOUT_FILE, parent.receptive_field, channels)
    with job_progress(console) as progress:
        started = time.perf_counter()
        model = adapt_model(parent.model, wearer, replay, parent.config.train, opts.config, progress)
        took = time.perf_counter() - started
    adaptation = _adaptation(opts, parent, wearer, model, holdout, took)
    with staged_dir(opts.out, replace=opts.force) as folder:
        config = parent.config
        replace(config, extra={**config.extra, "adapted_from": str(parent.folder)}).save(folder / CONFIG_FILE)
        save_model(folder, model, parent.classes, parent.sample_rate_hz)
        shutil.copyfile(parent.folder / DECODING_FILE, folder / DECODING_FILE)
        shutil.copyfile(parent.folder / HOLDOUT_FILE, folder / HOLDOUT_FILE)
        _with_wearer(replay, wearer, parent.receptive_field, config.train.seed).save(folder / CALIBRATION_FILE)
        write_report(folder / METRICS_FILE, _metrics(opts, parent, wearer, model, adaptation))
    wearer_figure, parent_figure = adaptation.wearer_accuracy, adaptation.parent_holdout_accuracy
    console.print(f"Adapted in {took:.1f} s on {adaptation.labelled_steps} labelled steps of the wearer; on "
                  f"those steps {wearer_figure.before:.4f} -> {wearer_figure.after:.4f} "
                  "(the data it was tuned on: `edge-har parity NEW_RUN --data` on more of them tells the truth); on "
                  f"the parent's validation people {parent_figure.before:.4f} -> {parent_figure.after:.4f}")
    console.print(styled((f"Adapted run written to {opts.out}", "bold green"), f" (parent {parent.folder})"))
    return opts.out


def _wearer(opts: AdaptOptions, parent: Run, console: Console) -> Dataset:
    """The wearer's recordings at the run's rate, in its units, labelled in its class order."""
    data = load_data(opts.data, opts.sample_rate_hz)
    data, notes = at_rate(data, parent.sample_rate_hz)
    for note in notes:
        console.print(styled(("Rate:", "bold"), f" {note}"))
    expected = parent.config.input_units
    if expected:
        units, why = units_of(data, opts.units)
        scale = factor(units, expected)
        if scale != 1.0:
            console.print(f"Converting the wearer's {units} ({why}) to the run's {expected}")
            data = replace(data, recordings=[replace(r, x=(r.x * scale).astype(np.float32)) for r in data.recordings],
                           units=expected)
    present = sorted({data.classes[y] for r in data.recordings for y in np.unique(r.y) if y != UNLABELED})
    wearer = wearer_dataset(data, parent.classes)
    wearer = replace(wearer, recordings=[replace(r, subject=WEARER) for r in wearer.recordings])  # all of it one person
    wearer = remembered(wearer, parent.model.config)  # the readings the model takes
    wearer = with_label_delay(wearer, parent.model.config.delay_steps)  # held to the steps the model names
    console.print(f"Wearer: one person, {len(wearer.recordings)} recording(s), {wearer.labelled_steps()} labelled "
                  f"steps of {len(present)} of the run's {len(parent.classes)} classes ({', '.join(present)})")
    return wearer


def _with_wearer(replay: WindowSet, wearer: Dataset, receptive_field: int, seed: int) -> WindowSet:
    """The parent's calibration windows and as many of the wearer's: int8 ranges must cover both."""
    own = sample_windows(wearer, receptive_field, CALIBRATION_PER_CLASS, seed)
    return WindowSet(np.concatenate([replay.windows, own.windows]), np.concatenate([replay.labels, own.labels]),
                     replay.classes)


@torch.no_grad()
def _window_accuracy(model: TCN, windows: WindowSet) -> float:
    """Accuracy at the labelled last step of R-long windows."""
    model.eval()
    predicted = model(torch.from_numpy(windows.windows))[:, -1].argmax(-1).numpy()
    return float((predicted == windows.labels).mean())


def _adaptation(opts: AdaptOptions, parent: Run, wearer: Dataset, model: TCN, holdout: WindowSet,
                took: float) -> Adaptation:
    rate = parent.sample_rate_hz
    per_class = np.bincount(np.concatenate([r.y[r.y >= 0] for r in wearer.recordings]), minlength=len(parent.classes))
    final = parent.metrics.final
    return Adaptation(
        config=asdict(opts.config),
        labelled_steps=int(per_class.sum()),
        labelled_per_class={name: (float(n / rate) if rate else int(n)) for name, n in zip(parent.classes, per_class)},
        labelled_per_class_unit="s" if rate else "steps",
        seconds_taken=round(took, 1),
        wearer_accuracy=WindowFigure(before=evaluate(parent.model, wearer).summary["accuracy"],
                                     after=evaluate(model, wearer).summary["accuracy"],
                                     note="on the steps adapted on: a training figure"),
        parent_holdout_accuracy=WindowFigure(before=_window_accuracy(parent.model, holdout),
                                             after=_window_accuracy(model, holdout),
                                             subjects=final.validation_subjects if final else None,
                                             note="the parent's held-out windows: what forgetting would lower"),
    )


def _metrics(opts: AdaptOptions, parent: Run, wearer: Dataset, model: TCN, adaptation: Adaptation) -> MetricsReport:
    config = model.config
    held_out = adaptation.parent_holdout_accuracy
    return MetricsReport(
        receptive_field=model.receptive_field,
        classes=parent.classes,
        sample_rate_hz=parent.sample_rate_hz,
        params=count_params(model),
        macs_per_step=macs_per_step(config),
        macs_per_window=macs_per_window(config),
        model=asdict(config),
        data_source=str(opts.data),
        synthetic_data=bool(parent.metrics.synthetic_data),
        subjects=wearer.subjects,
        input_units=parent.config.input_units,
        adapted_from=AdaptedFrom(run=str(parent.folder), subjects=parent.metrics.subjects),
        adaptation=adaptation,
        final=FinalModel(validation_subjects=held_out.subjects, validation_accuracy=held_out.after,
                         note="the parent's validation people (holdout.npz windows), after adaptation"),
    )
