"""The `edge-har` command: a thin typer layer over functions the tests call directly."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Literal, Optional

import typer
from typer.exceptions import TyperException

from .core.config import EXPORT_MIN_AGREEMENT, PARITY_MIN_AGREEMENT, AdaptConfig, ModelConfig, TrainConfig
from .core.console import styled, user_console
from .core.decoding import DEFAULT_DECODE
from .core.errors import GateFailure, UserError
from .core.files import disk_error
from .core.install import has_training_stack, require_training_stack
from .core.interrupt import sigterm_interrupts
from .core.workers import Workers

app = typer.Typer(
    help="Human-activity recognition from a 3-axis accelerometer to a microcontroller.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help text is printed as written: `edge-har[ray]` is an install, not markup
)
console = user_console()
errors = user_console(stderr=True)

MODEL, TRAIN, ADAPT = ModelConfig(num_classes=0), TrainConfig(), AdaptConfig()
DATA_HELP = ("A MATLAB HumanActivity .mat file, a CSV file or a folder of CSV files (t,ax,ay,az,label; "
             "one subject per file). Without it, the built-in SYNTHETIC dataset is used; synthetic:PEOPLE[:SECONDS] "
             "makes it any size (e.g. synthetic:200:3600).")
ENGINE_HELP = ("rolling: the window model over the last R samples at every sample (the reference). step: the step "
               "model, one new column per layer per sample, with each layer's state kept between samples.")


def _names(option: str | None) -> list[str] | None:
    """A comma-separated option as a list of names (None when not given)."""
    return [name.strip() for name in option.split(",")] if option else None


def _seconds(option: str | None) -> list[float] | None:
    """A comma-separated list of seconds (None when not given)."""
    try:
        return [float(n) for n in option.split(",")] if option else None
    except ValueError:
        raise UserError(f"--adapt-seconds takes comma-separated numbers of seconds, e.g. 10,30,60; not {option!r}") from None


def _worn(cfg: TrainConfig, wear: str, by_hand: dict) -> TrainConfig:
    """The augmentation of a named way of wearing; flags given by hand override it (wear: None)."""
    from .train.wear import AUTO, WEARS, dressed

    if wear not in (AUTO, *WEARS):
        raise UserError(f"--wear must be auto or one of {', '.join(WEARS)}, not {wear!r}")
    cfg = cfg if wear == AUTO else dressed(cfg, wear)
    return replace(cfg, wear=None, **by_hand) if by_hand else cfg


def _by_hand(roll_axis: str | None, flip_axes: bool | None, rotate_deg: float | None) -> dict:
    """The augmentation flags a user gave (roll axis 'none': no roll)."""
    flags = (("flip_axes", flip_axes), ("rotate_deg", rotate_deg))
    given: dict[str, object] = {name: value for name, value in flags if value is not None}
    if roll_axis is not None:
        given["roll_axis"] = None if roll_axis == "none" else roll_axis
    return given


def _fail(message: str) -> None:
    errors.print(styled(("error:", "bold red"), f" {message}"), soft_wrap=True)


def user_errors(command):
    """Turn a user's mistake, or a disk that is full or read-only, into one line on stderr and exit
    code 2, never a traceback; SIGTERM ends a command as Ctrl-C does (its clean-up runs)."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            with sigterm_interrupts():
                return command(*args, **kwargs)
        except UserError as err:
            _fail(str(err))
            raise typer.Exit(2) from None
        except OSError as err:
            disk = disk_error(err)
            if disk is None:
                raise
            _fail(str(disk))
            raise typer.Exit(2) from None
        except GateFailure as err:
            errors.print(styled(("failed:", "bold red"), f" {err}"), soft_wrap=True)
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            errors.print("interrupted; nothing half-written was kept")
            raise typer.Exit(130) from None

    return wrapper


@app.callback()
def main():
    """Train, export, stream and check human-activity models for small devices."""


def run() -> None:
    """The console script: typer's app, with a mistaken option or argument told in one line."""
    try:
        code = app(standalone_mode=False)
    except TyperException as err:  # typer's own click errors: a bad option, or no command
        context = getattr(err, "ctx", None)
        if type(err).__name__ == "NoArgsIsHelpError":  # as typer tells it apart, without its private module
            print(context.get_help() if context else "edge-har --help lists the commands")
        else:
            where = f"edge-har {context.info_name}" if context is not None and context.parent else "edge-har"
            _fail(f"{err.format_message()} (`{where} --help` explains every option)")
        code = 2
    except typer.Abort:
        errors.print("interrupted")
        code = 130
    sys.exit(code if isinstance(code, int) else 0)


@app.command()
@user_errors
def train(
    data: Annotated[Optional[str], typer.Option(help=DATA_HELP)] = None,
    out: Annotated[Optional[Path], typer.Option(help="Run directory to create (default: runs/run-<time>).")] = None,
    cv: Annotated[Optional[str], typer.Option(
        help="Cross-validation by subject: 'loso' (leave one subject out) or a number of subject-wise folds.")] = None,
    cv_folds: Annotated[Optional[str], typer.Option(
        help="Comma-separated subjects: run only the cross-validation folds that hold them out (a quick look at "
             "hard folds; the mean then covers those folds only). Implies --cv loso when --cv is not given.")] = None,
    rf: Annotated[Optional[str], typer.Option(
        help="Receptive field: 'auto' picks the smallest R that meets the target; a number asks for that R.")] = None,
    tolerance: Annotated[float, typer.Option(help="--rf auto: accept R within this many accuracy points of the best.")] = 0.5,
    target_accuracy: Annotated[Optional[float], typer.Option(help="--rf auto: required CV accuracy (0 to 1).")] = None,
    max_params: Annotated[Optional[int], typer.Option(help="--rf auto: skip shapes with more parameters.")] = None,
    max_macs: Annotated[Optional[int], typer.Option(help="--rf auto: skip shapes with more MACs per step.")] = None,
    filters: Annotated[int, typer.Option(min=1, help="Channels per convolution.")] = MODEL.filters,
    kernel_size: Annotated[int, typer.Option(min=2, help="Convolution kernel size f.")] = MODEL.kernel_size,
    blocks: Annotated[int, typer.Option(min=1, help="Residual blocks K; R = 2(f-1)(2^K-1)+1.")] = MODEL.blocks,
    dropout: Annotated[float, typer.Option(min=0.0, max=0.9, help="Spatial dropout rate.")] = MODEL.dropout,
    norm: Annotated[str, typer.Option(help="'batch' (folds into int8 convs) or 'layer'.")] = MODEL.norm,
    magnitude: Annotated[bool, typer.Option(
        help="Give the model |a| as one more input channel, computed inside it from the three axes: the "
             "intensity of a movement, whichever way the device is worn.")] = MODEL.magnitude,
    delay: Annotated[Optional[float], typer.Option(
        min=0.0, help="Label the step this many seconds back from the newest sample (still causal: it never waits "
                      "for data it has not got): a fixed lag that buys the model the moments after each step, so "
                      "changes of activity are named sooner after they show. Every engine, parity and stream "
                      "honour it; 0 names the newest sample. Default: 1 s where the data's sample rate is known "
                      "(at most R - 1 steps), else none.")] = None,
    memory: Annotated[Optional[float], typer.Option(
        min=0.0, help="Give the model a memory of where gravity sat: the axes' causal exponential average with this "
                      "time constant in seconds, as three more readings (a sit-down or a stand-up it saw tells the "
                      "next postures apart long after its receptive field has passed). Every engine, parity, stream "
                      "and the C engine compute it the same way; 0: none. Default: 10 s where the data's sample "
                      "rate is known (not with --magnitude), else none.")] = None,
    teacher: Annotated[bool, typer.Option(
        help="First train a larger teacher that sees both ways (the samples after each step too) on the same "
             "people; the model then learns from its per-step probabilities beside the labels, on the unlabelled "
             "steps as well; two settings of how much it listens are tried, the one best on the validation people "
             "kept. The teacher never ships. About four times the training time.")] = TRAIN.teacher,
    balanced: Annotated[bool, typer.Option(
        help="Weigh each labelled step by the inverse of its class's share of the training steps, so that short, "
             "rare classes (postural transitions) count in the loss as much as long ones, as macro-F1 counts "
             "them.")] = TRAIN.balanced,
    epochs: Annotated[int, typer.Option(min=1, help="Maximum epochs.")] = TRAIN.epochs,
    steps_per_epoch: Annotated[int, typer.Option(min=1, help="Batches per epoch.")] = TRAIN.steps_per_epoch,
    batch_size: Annotated[int, typer.Option(min=1, help="Windows per batch.")] = TRAIN.batch_size,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = TRAIN.lr,
    patience: Annotated[int, typer.Option(
        min=1, help="With --val-subjects: stop after this many epochs without a better validation accuracy.")] = \
        TRAIN.patience,
    val_subjects: Annotated[int, typer.Option(
        min=0, help="People held out of training (in each cross-validation fold too) to keep the best epoch on, "
                    "stop early, and choose the teacher's setting. Default 0: every person trains and the last "
                    "epoch is kept; with few people, one more to learn from is worth more (docs/accuracy.md).")] = \
        TRAIN.val_subjects,
    wear: Annotated[str, typer.Option(
        help="How the device sits on a body, taught by augmentation: 'rolled' (turns about its long axis: a phone "
             "in a pocket, a band on a wrist), 'fixed' (strapped in one orientation: a waist clip), 'any' (may sit "
             "any way), or 'auto': short trials of each, kept by accuracy on held-out training people.")] = "auto",
    roll_axis: Annotated[Optional[str], typer.Option(
        help="Expert, overrides --wear: device axis to turn about by any angle in training (x, y, z or "
             "'none').")] = None,
    flip_axes: Annotated[Optional[bool], typer.Option(
        help="Expert, overrides --wear: also turn the device by half-turns about its axes.")] = None,
    rotate_deg: Annotated[Optional[float], typer.Option(
        min=0.0, max=180.0, help="Expert, overrides --wear: then tilt it about a random axis by up to this many "
                                 "degrees.")] = None,
    scale_jitter: Annotated[float, typer.Option(
        min=0.0, max=0.9, help="Random gain per training window, 1 +- this.")] = TRAIN.scale_jitter,
    time_warp: Annotated[float, typer.Option(
        min=0.0, max=0.9, help="Random playback speed per training window, 1 +- this (people move at their own "
                               "tempo).")] = TRAIN.time_warp,
    classes: Annotated[Optional[str], typer.Option(
        help="Comma-separated classes to keep; other steps become unlabelled (e.g. the 6 HAPT activities).")] = None,
    subjects: Annotated[Optional[str], typer.Option(
        help="Comma-separated subjects to train on; the others are left out entirely (to test on them later).")] = None,
    sample_rate: Annotated[Optional[float], typer.Option(
        min=0.5, help="Sample rate in Hz, where the data does not say.")] = None,
    rate: Annotated[Optional[float], typer.Option(
        min=1.0, help="The model's sample rate in Hz: recordings at other rates are resampled to it (anti-aliasing "
                      "polyphase filter). Default: the rate of most of the data.")] = None,
    units: Annotated[Optional[str], typer.Option(
        help="The data's units: g, m/s2 or counts (a device's own). Default: as the data states, else judged "
             "from the size of gravity. Recorded in the run; stream converts g and m/s2 boards to it.")] = None,
    adapt_seconds: Annotated[Optional[str], typer.Option(
        help="With --cv: for each held-out person, adapt the fold's model (as `edge-har adapt` does) on the first N "
             "seconds of each of their activities and score the rest of their steps; comma-separated N, e.g. "
             "10,30,60. Needs a known sample rate (--sample-rate where the data states none).")] = None,
    seed: Annotated[int, typer.Option(help="Seed for repeatable runs.")] = 0,
    device: Annotated[str, typer.Option(help="auto (GPU when present), cpu or cuda.")] = "auto",
    workers: Annotated[Optional[int], typer.Option(
        min=1, help="Run the cross-validation folds, the ladder's folds and the wear trials as Ray tasks on a "
                    "local Ray with this many workers (needs `pip install 'edge-har[ray]'`). Default: one after "
                    "another in this process.")] = None,
    ray_address: Annotated[Optional[str], typer.Option(
        envvar="RAY_ADDRESS", help="Run the folds on an existing Ray cluster (`ray start --head` on one machine, "
                                   "`ray start --address HEAD:6379` on the others), e.g. HEAD:6379 or auto.")] = None,
    threads: Annotated[Optional[int], typer.Option(
        min=1, help="torch threads per training (default: torch's, all cores; with --workers, the cores per "
                    "worker). The figures depend on it, not on the number of workers: fix it to compare runs.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out run (only once the new one is complete).")] = False,
):
    """Train a causal TCN that labels every time step; optionally cross-validate and choose R."""
    require_training_stack("train")
    from .train.rf_search import Budget
    from .train.train_command import TrainOptions
    from .train.train_command import train as run_training

    if roll_axis not in (None, "x", "y", "z", "none"):
        raise UserError(f"--roll-axis must be x, y, z or none, not {roll_axis!r}")
    if norm not in ("batch", "layer"):
        raise UserError(f"--norm must be 'batch' or 'layer', not {norm!r}")
    norm_kind: Literal["batch", "layer"] = "batch" if norm == "batch" else "layer"
    options = TrainOptions(
        data=data, out=out, cv=cv, rf=rf, cv_folds=_names(cv_folds),
        model=ModelConfig(0, filters=filters, kernel_size=kernel_size, blocks=blocks, dropout=dropout, norm=norm_kind,
                          magnitude=magnitude),
        train=_worn(TrainConfig(epochs=epochs, steps_per_epoch=steps_per_epoch, batch_size=batch_size, lr=lr,
                                patience=patience, val_subjects=val_subjects, scale_jitter=scale_jitter,
                                time_warp=time_warp, seed=seed, device=device, threads=threads, teacher=teacher,
                                balanced=balanced),
                    wear, _by_hand(roll_axis, flip_axes, rotate_deg)),
        budget=Budget(tolerance / 100, target_accuracy, max_params, max_macs),
        classes=_names(classes),
        subjects=_names(subjects),
        sample_rate_hz=sample_rate,
        rate_hz=rate,
        units=units,
        adapt_seconds=_seconds(adapt_seconds),
        delay_s=delay,
        memory_s=memory,
        force=force,
        workers=Workers(workers, ray_address),
    )
    run_training(options, console)


@app.command()
@user_errors
def adapt(
    run: Annotated[Path, typer.Argument(help="A training run directory (from `edge-har train`, or an adapted one).")],
    data: Annotated[str, typer.Option(
        help="The wearer's labelled recordings: a CSV file or a folder of them (t,ax,ay,az,label; what `edge-har "
             "record --label` writes, one file per activity or one labelled file). All of it is one person.")],
    out: Annotated[Path, typer.Option(help="The adapted run directory to create.")],
    steps: Annotated[int, typer.Option(min=1, help="Fine-tuning steps.")] = ADAPT.steps,
    lr: Annotated[float, typer.Option(help="Adam learning rate.")] = ADAPT.lr,
    moves: Annotated[str, typer.Option(
        help="Which parameters move: head (the 1x1 classifier), last (the last block and the head) or all.")] = ADAPT.moves,
    sample_rate: Annotated[Optional[float], typer.Option(help="Sample rate in Hz, where the data does not say.")] = None,
    units: Annotated[Optional[str], typer.Option(
        help="The data's units: g, m/s2 or counts. Default: as the data states, else judged from gravity.")] = None,
    seeds: Annotated[int, typer.Option(
        min=1, help="Fine-tunings from different seeds whose weights are averaged (one alone varies a lot).")] = ADAPT.seeds,
    seed: Annotated[int, typer.Option(help="Seed for repeatable runs (the first of --seeds).")] = ADAPT.seed,
    force: Annotated[bool, typer.Option(help="Replace an existing --out run (only once the new one is complete).")] = False,
):
    """Fine-tune a run to one wearer on a few labelled seconds of them, replaying its training people's windows so
    that no class is forgotten; writes a new run (its parent named in metrics.json) to export, check and stream."""
    require_training_stack("adapt")
    from .train.adapt_command import AdaptOptions
    from .train.adapt_command import adapt as run_adapt

    config = replace(ADAPT, steps=steps, lr=lr, moves=moves, seeds=seeds, seed=seed)
    run_adapt(AdaptOptions(run, data, out, config, sample_rate, units, force), console)


@app.command()
@user_errors
def export(
    run: Annotated[Path, typer.Argument(help="A training run directory (from `edge-har train`).")],
    int8: Annotated[bool, typer.Option(
        "--int8/--fp32-only", help="Also write int8 ONNX and int8 TFLite (with TFLite-Micro checks and C array).")] = False,
    calibration: Annotated[Optional[Path], typer.Option(
        help="Calibration set (.npz, see calibration_data/README.md); default: the run's calibration.npz.")] = None,
    min_agreement: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Fail (exit 1, files kept) when an int8 model agrees with fp32 on fewer of the "
                               "held-out validation subject's windows. Lower than parity's default: export checks "
                               "300 windows on TFLite-Micro (one disagreement is 0.33 points), parity whole "
                               "recordings.")] = EXPORT_MIN_AGREEMENT,
    activations: Annotated[str, typer.Option(
        help="Integer activations: int16 with int8 weights (TFLite's 16x8 mode, which TFLite-Micro runs: logits "
             "fine enough for close calls, about twice int8's arena); int8 (the smallest arena; int8 logits tie "
             "where fp32's top two classes lie close, on some people more than others); or auto: int8, then int16 "
             f"where int8 agrees with fp32 on fewer than {PARITY_MIN_AGREEMENT} of the validation person's steps "
             "(or --min-agreement, if higher). Weights are int8 either way.")] = "int16",
    qat: Annotated[bool, typer.Option(
        help="Quantization-aware fine-tuning (about a minute on a CPU) of the weights the int8-activation models "
             "are made from, distilled from fp32 with int8 simulated; the fp32 models stay the run's. "
             "It narrows int8's losses without closing them where fp32's top two classes lie close "
             "(docs/int8-int16.md).")] = False,
    decode: Annotated[str, typer.Option(
        help="Decoding over time that the deployed model runs after every backend (parity and stream apply it): "
             "forward, a causal filter whose switching needs sustained evidence, with transitions from how long "
             "activities last in the run's training labels; or none, each step's own class.")] = DEFAULT_DECODE,
    check_windows: Annotated[Optional[int], typer.Option(
        help="Check and gate the integer models on this many of the run's held-out windows, evenly spread "
             "(default: all, 2,000 for a run of this version). Streaming each window through the step models "
             "is most of an export's time; fewer is quicker and the gate coarser.")] = None,
    cores: Annotated[Optional[str], typer.Option(
        help="Measure the C step engine's flash and instructions per sample on these emulated cores, "
             "comma-separated from m4, m33, m0, rv32 (each some seconds under QEMU); 'none' for none. "
             "Default: every core whose cross compiler and QEMU are installed.")] = None,
    board_rate: Annotated[Optional[float], typer.Option(min=0.5, help=BOARD_RATE_HELP)] = None,
    board_units: Annotated[Optional[str], typer.Option(
        help=BOARD_UNITS_HELP + " With it, export also writes sensor_input.c/.h beside step_engine.c and into "
                                "the library.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing RUN/export/ (only once the new one is complete).")] = False,
):
    """Write RUN/export/: the window models (model_fp32.onnx, model_int8.onnx, model_int8.tflite, model_int8.h/.cc),
    the step models (step_fp32.onnx, step_int8.onnx, step_int8.tflite, step_int8.h/.cc) and export.json; with
    --int8, the C step engine and library/, the engine as a CMake, Arduino, PlatformIO and Zephyr library."""
    board = _board(board_rate, board_units)
    if board is not None and not int8:
        raise UserError("--board-units needs --int8: the sensor input feeds the C step engine of the int8 export")
    require_training_stack("export")
    from .export.exporter import ExportOptions
    from .export.exporter import export as run_export
    from .export.qat import QatConfig

    run_export(ExportOptions(run, int8, calibration, min_agreement, activations, QatConfig() if qat else None, decode,
                             check_windows, _core_names(cores), force, board), console)


def _core_names(cores: str | None) -> tuple[str, ...] | None:
    if cores is None:
        return None
    return () if cores.strip() == "none" else tuple(name.strip() for name in cores.split(",") if name.strip())


@app.command()
@user_errors
def calibrate(
    run: Annotated[Path, typer.Argument(help="The training run whose receptive field the windows must have.")],
    out: Annotated[Path, typer.Option(help="Calibration file to write (.npz).")],
    data: Annotated[Optional[str], typer.Option(help=DATA_HELP)] = None,
    per_class: Annotated[int, typer.Option(min=1, help="Windows per class.")] = 64,
    seed: Annotated[int, typer.Option(help="Seed for the window draw.")] = 0,
    force: Annotated[bool, typer.Option(help="Replace an existing --out file.")] = False,
):
    """Make a calibration set (R-long raw windows across subjects and classes) from any data source."""
    require_training_stack("calibrate")
    from .core.files import check_new_file
    from .data.calibration import sample_windows
    from .data.dataset import at_rate, remembered
    from .data.loading import load_data, synthetic_note
    from .model.run_folder import Run

    check_new_file(out, force=force)
    model_run = Run(run)
    dataset = load_data(data, seed=seed)
    if dataset.synthetic:
        console.print(synthetic_note(data), style="bold yellow")
    dataset, _ = at_rate(dataset, model_run.sample_rate_hz)  # the model's rate, and its memory where it has one
    windows = sample_windows(remembered(dataset, model_run.model.config), model_run.receptive_field, per_class, seed)
    windows.save(out)
    console.print(f"Wrote {len(windows.windows)} windows of {model_run.receptive_field} samples to {out}")


@app.command()
@user_errors
def parity(
    run: Annotated[Path, typer.Argument(help="A training run with an int8 export.")],
    data: Annotated[Optional[str], typer.Option(help=DATA_HELP)] = None,
    subjects: Annotated[Optional[str], typer.Option(help="Comma-separated subjects to evaluate (default: all).")] = None,
    tflm_steps: Annotated[int, typer.Option(
        min=1, help="TFLite-Micro is slow on a PC: evaluate it on this many evenly spread steps.")] = 2000,
    min_agreement: Annotated[float, typer.Option(
        min=0.0, max=1.0, help="Fail (exit 1) when an int8 backend agrees with fp32 on fewer steps (stricter "
                               "than export's gate, which sees far fewer steps).")] = PARITY_MIN_AGREEMENT,
    max_drop: Annotated[float, typer.Option(
        min=0.0, help="Fail (exit 1) when an int8 backend loses more accuracy points than this.")] = 0.3,
    out: Annotated[Optional[Path], typer.Option(help="Folder for parity.json and parity.png (default: RUN).")] = None,
    engine: Annotated[str, typer.Option(help=ENGINE_HELP + " The step engine streams every recording through "
                                        "every backend, TFLite-Micro included, on every step.")] = "rolling",
    sample_rate: Annotated[Optional[float], typer.Option(
        help="Sample rate in Hz, where the data does not say. Data at another rate than the model's is resampled "
             "to it.")] = None,
    workers: Annotated[Optional[int], typer.Option(
        min=1, help="Check each subject as a Ray task on a local Ray with this many workers (needs "
                    "`pip install 'edge-har[ray]'`). Default: one after another in this process.")] = None,
    ray_address: Annotated[Optional[str], typer.Option(
        envvar="RAY_ADDRESS", help="Check the subjects on an existing Ray cluster (`ray start --head`), whose "
                                   "machines see RUN at the same path.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing parity.json and parity.png.")] = False,
):
    """Per-step accuracy of every backend (PyTorch, ONNX fp32/int8, LiteRT int8, TFLite-Micro int8) and agreement."""
    from .eval.parity import ParityOptions
    from .eval.parity import parity as run_parity

    reference: Callable[[Path, str], object] | None = None
    if has_training_stack():  # the PyTorch model as the fp32 reference; the host install compares with ONNX fp32
        from .model.torch_backends import pytorch_reference

        reference = pytorch_reference
    run_parity(ParityOptions(run, data, _names(subjects), tflm_steps, min_agreement, max_drop / 100, out, engine,
                             sample_rate, reference, Workers(workers, ray_address), force), console)


@app.command()
@user_errors
def emulate(
    data: Annotated[Optional[str], typer.Option(help=DATA_HELP)] = None,
    subjects: Annotated[Optional[str], typer.Option(help="Comma-separated subjects to play (default: all).")] = None,
    link: Annotated[Optional[Path], typer.Option(
        help="A fixed path (symlink) to the emulated port, kept across reconnects, like /dev/ttyUSB0.")] = None,
    fmt: Annotated[str, typer.Option("--format", help="binary (frames with CRC) or text (x,y,z,label lines).")] = "binary",
    speed: Annotated[float, typer.Option(min=0.0, help="1: the real sample rate; N: N times faster; 0: as fast as read.")] = 1.0,
    labels: Annotated[bool, typer.Option(help="Send the recording's labels with each sample.")] = True,
    drop_frames: Annotated[float, typer.Option(min=0.0, max=1.0, help="Fault: share of frames not sent.")] = 0.0,
    corrupt_bytes: Annotated[float, typer.Option(min=0.0, max=1.0, help="Fault: share of bytes flipped.")] = 0.0,
    reset_at: Annotated[list[int], typer.Option(help="Fault: the board reboots (counter to 0) before this sample.")] = [],
    disconnect_at: Annotated[list[int], typer.Option(help="Fault: the cable is pulled before this sample.")] = [],
    linger: Annotated[float, typer.Option(
        min=0.0, help="Seconds to wait for a reader that closed the port to come back before ending.")] = 10.0,
    rate: Annotated[Optional[float], typer.Option(
        min=1.0, help="Play as a board sampling at this rate in Hz: the recording is resampled to it "
                      "(default: the recording's own rate).")] = None,
    units: Annotated[Optional[str], typer.Option(
        help="Send in these units (g, m/s2 or counts), converted from the recording's (default: its own).")] = None,
    jitter: Annotated[float, typer.Option(
        min=0.0, help="Timing jitter: each frame leaves up to this many seconds late (with --speed above 0).")] = 0.0,
    declare: Annotated[bool, typer.Option(
        help="Declare the board's rate and units in its info; --no-declare plays a board that says neither, "
             "as many do (stream then takes the model's, or its own --rate and --units).")] = True,
    seed: Annotated[int, typer.Option(help="Seed for the faults and the synthetic data.")] = 0,
):
    """Emulate a board on a pseudo-terminal: prints its path, then plays a recording as serial frames."""
    from .data.dataset import at_rate
    from .data.loading import load_data, synthetic_note
    from .device.emulator import EmulatorOptions, Faults, check_link
    from .device.emulator import emulate as run_emulator

    if fmt not in ("binary", "text"):
        raise UserError(f"--format must be binary or text, not {fmt!r}")
    if link is not None:
        check_link(link)
    dataset = load_data(data, seed=seed)
    if subjects:
        dataset = dataset.select(_names(subjects) or [])
    dataset, notes = at_rate(dataset, rate)
    for note in [*notes, *([synthetic_note(data)] if dataset.synthetic else [])]:
        errors.print(note)
    faults = Faults(drop_frames, corrupt_bytes, list(reset_at), list(disconnect_at), seed)
    options = EmulatorOptions(dataset, link, fmt, speed, labels=labels, units=units, jitter_s=jitter, declare=declare,
                              faults=faults, linger_s=linger)
    report = run_emulator(options, ready=lambda name: print(name, flush=True))
    if report.reader_left:
        errors.print("The reader closed the port and did not come back; stopping.")
    errors.print(f"Sent {report.sent} samples; dropped {report.dropped}, corrupted bytes {report.corrupted_bytes}, "
                 f"resets {report.resets}, disconnects {report.disconnects} (lost offline {report.lost_offline})")


@app.command()
@user_errors
def stream(
    port: Annotated[str, typer.Option(help="Serial port, e.g. /dev/ttyUSB0 or what `edge-har emulate` printed.")],
    model: Annotated[Path, typer.Option(help="A training run with an int8 export.")],
    baud: Annotated[int, typer.Option(min=1, help="Baud rate.")] = 115200,
    backend: Annotated[str, typer.Option(help="litert_int8, onnx_int8 or tflm_int8.")] = "litert_int8",
    engine: Annotated[str, typer.Option(help=ENGINE_HELP)] = "step",
    fmt: Annotated[str, typer.Option("--format", help="auto, binary or text.")] = "auto",
    rate: Annotated[Optional[float], typer.Option(
        min=0.5, help="The board's sample rate in Hz, until it declares one (default: the model's). Converted to "
                      "the model's rate by a causal resampler.")] = None,
    scale: Annotated[Optional[float], typer.Option(help="Units per board count, until the board declares one.")] = None,
    units: Annotated[Optional[str], typer.Option(
        help="The board's units (g, m/s2 or counts), until it declares them (default: the model's). g and m/s2 "
             "convert into each other.")] = None,
    duration: Annotated[Optional[float], typer.Option(
        min=0.1, help="Stop after this many seconds (default: until Ctrl-C).")] = None,
    compare_fp32: Annotated[bool, typer.Option(help="Also run fp32 with the same engine and report agreement.")] = True,
    log: Annotated[Optional[Path], typer.Option(help="CSV file with one row per step.")] = None,
    summary: Annotated[Optional[Path], typer.Option(
        help="JSON summary written at the end, Ctrl-C included (default: MODEL/stream_summary.json).")] = None,
    idle_exit: Annotated[Optional[float], typer.Option(
        min=0.01, help="Stop when, after data has flowed, nothing arrives for this many seconds.")] = None,
    samples: Annotated[Optional[int], typer.Option(
        min=1, help="Stop once this many samples have arrived (default: until --duration or Ctrl-C).")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --log or --summary file.")] = False,
):
    """Stream live accelerometer frames into the int8 model, one prediction per sample, with a live view."""
    from .runtime.stream import StreamOptions
    from .runtime.stream import stream as run_stream

    run_stream(StreamOptions(port, model, baud, backend, engine, fmt, rate, scale, units, duration, compare_fp32, log,
                             summary, idle_exit_s=idle_exit, force=force, max_samples=samples), console)


@app.command()
@user_errors
def record(
    port: Annotated[str, typer.Option(help="Serial port of the board.")],
    label: Annotated[str, typer.Option(help="The activity being recorded (the CSV's label column).")],
    out: Annotated[Path, typer.Option(help="CSV file to write (t,ax,ay,az,label; `train --data` reads it).")],
    duration: Annotated[float, typer.Option(min=0.1, help="Seconds to record.")] = 30.0,
    baud: Annotated[int, typer.Option(min=1, help="Baud rate.")] = 115200,
    rate: Annotated[Optional[float], typer.Option(
        min=0.5, help="Sample rate in Hz, if the board does not declare it.")] = None,
    scale: Annotated[float, typer.Option(help="Units per board unit, if the board does not declare it.")] = 1.0,
    force: Annotated[bool, typer.Option(help="Replace an existing --out file.")] = False,
):
    """Capture a board's stream into the CSV format that `edge-har train --data` reads."""
    from .link.record import record as run_record

    rows = run_record(port, label, out, duration, baud, rate, scale, force)
    console.print(f"Wrote {rows} samples labelled {label!r} to {out}")


def _board(rate_hz: float | None, units: str | None):
    """The board's sensor of --board-rate and --board-units (None where neither is given)."""
    from .codegen.sensor_input import Board, BoardUnits

    if rate_hz is not None and units is None:
        raise UserError("--board-rate needs --board-units, what one count of the sensor is (e.g. --board-units 0.061mg)")
    return Board(rate_hz, BoardUnits.parse(units)) if units is not None else None


BOARD_RATE_HELP = ("The board's sensor rate in Hz (e.g. 52 for an LSM6DSO): sensor_input.c converts its readings to the "
                   "model's rate on the device, in integers (the host stream's filter). Needs --board-units.")
BOARD_UNITS_HELP = ("What one count of the sensor is, from its datasheet: e.g. 0.061mg (LSM6DSO, +-2 g), 3.9mg "
                    "(ADXL345) or 0.0006m/s2. sensor_input.c takes raw counts and folds this scale into the model's "
                    "input quantization (at the model's rate where --board-rate is not given).")


@app.command()
@user_errors
def firmware(
    run: Annotated[Path, typer.Argument(help="A run exported with `--int8` (it holds step_engine.c).")],
    subject: Annotated[str, typer.Option(help="Whose recording the firmware replays from flash (its first one).")],
    out: Annotated[Path, typer.Option(help="Folder for recording.h and the firmware binaries.")],
    data: Annotated[Optional[str], typer.Option(help=DATA_HELP)] = None,
    target: Annotated[str, typer.Option(
        help="Comma-separated: pc (the host C compiler), m4 (Cortex-M4, QEMU's mps2-an386; mps2 names it too), "
             "m33 (Cortex-M33, mps2-an505), m0 (Cortex-M0, microbit) and rv32 (RISC-V rv32imc, virt); the cores "
             "need their cross compiler (arm-none-eabi-gcc, riscv64-unknown-elf-gcc) and run under QEMU.")] = "pc,m4",
    sample_rate: Annotated[Optional[float], typer.Option(help="Sample rate in Hz, where the data does not say.")] = None,
    board_rate: Annotated[Optional[float], typer.Option(
        min=0.5, help=BOARD_RATE_HELP + " The firmware's recording is read at this rate.")] = None,
    board_units: Annotated[Optional[str], typer.Option(
        help=BOARD_UNITS_HELP + " The firmware's recording is the sensor's counts.")] = None,
    force: Annotated[bool, typer.Option(help="Replace an existing --out folder (only once every target is built).")] = False,
):
    """Build the example firmware: a recording replayed as a sensor driver delivers it, the C step engine on every
    sample, and each sample sent with the device's class (PROTOCOL.md version 2) for `edge-har stream` to check.
    With --board-rate and --board-units, the recording is the board's sensor counts at its own rate."""
    from .device.cores import CORES
    from .device.firmware import device_target, make_firmware

    board = _board(board_rate, board_units)
    for binary in make_firmware(run, data, subject, out, _names(target) or [], sample_rate, force, board):
        console.print(f"Built {binary}")
        core = next((c for c in CORES.values() if binary.name == device_target(c.name)), None)
        if core is None:
            console.print("  `FIRMWARE FD` writes frames to a file descriptor (the master side of a pseudo-terminal).")
        else:
            console.print(f"  {core.title}: `{' '.join(core.command(str(binary), serial='pty'))}`")
    console.print(f"Then `edge-har stream --port /dev/pts/N --model {run}` (N: what QEMU printed), and send any byte "
                  "to the port to start the replay.")

