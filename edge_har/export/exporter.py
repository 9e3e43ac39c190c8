"""`edge-har export RUN --int8`: float ONNX, int8 ONNX and int8 TFLite, plus what firmware needs.

Every model takes one raw R-sample window (batch, R, channels) and returns the logits of its
newest step. Files are written into a staging folder and moved to RUN/export only when all of
them exist, so a failed export never leaves a folder that looks complete.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from rich.console import Console
from rich.progress import Progress

from ..codegen import EngineError, write_engine, write_library
from ..codegen.decoder_header import decoder_header
from ..codegen.sensor_input import Board, check_model_takes_counts, sensor_for_model
from ..codegen.sensor_writer import write_sensor_input
from ..core.config import EXPORT_MIN_AGREEMENT, PARITY_MIN_AGREEMENT
from ..core.console import user_console
from ..core.decoding import DECODE_CHOICES, DEFAULT_DECODE, Transitions
from ..core.errors import UserError
from ..core.export_report import (
    Attempt,
    CEngine,
    CoreCost,
    Decoding,
    ExportReport,
    NotMeasured,
    OnnxCheck,
    Quantization,
    StepModels,
    TfliteModel,
    WindowInt8,
    agreements,
)
from ..core.features import memory_keep
from ..core.files import MB, check_destination, staged_dir, transient_file
from ..core.metrics import agreement
from ..core.reports import write_report
from ..core.run_files import model_fingerprint
from ..data.calibration import WindowSet, load_windows
from ..device.cores import CORES
from ..device.cost import BENCH_SAMPLES, core_cost
from ..model.folding import WindowModel, folded_window_model, tflite_input
from ..model.run_folder import CALIBRATION_FILE, DECODING_FILE, HOLDOUT_FILE, Run
from ..model.tcn import TCN, count_params, macs_per_step, macs_per_window
from ..model.torch_backends import TorchBackend
from ..runtime.backends import LiteRTBackend, OnnxBackend, TflmBackend, tflm_arena_bytes
from ..runtime.export_folder import DECODER_HEADER, EXPORT_DIR, EXPORT_JSON, FP32_ONNX, INT8_ONNX, INT8_TFLITE, STEP_INT8_TFLITE
from .gate import enforce, gate_report
from .qat import QatConfig, quantization_aware_tcn
from .quantize import ACTIVATIONS, quantize_onnx, quantize_tflite
from .step_models import export_step_models
from .tflite_arrays import write_step_array, write_window_array

ONNX_TOLERANCE = 1e-4  # max abs logit difference, ONNX Runtime fp32 against PyTorch
INPUT_NAME, OUTPUT_NAME = "accel", "logits"


ACTIVATION_CHOICES = ("auto", *ACTIVATIONS)


@dataclass
class ExportOptions:
    run: Path
    int8: bool = True
    calibration: Path | None = None
    min_agreement: float = EXPORT_MIN_AGREEMENT
    # Activations int8 or int16 (weights are int8 either way); auto: int8, then int16 where int8 agrees
    # with fp32 on fewer than max(min_agreement, PARITY_MIN_AGREEMENT) of the held-out steps. int8
    # logits tie where fp32's top two differ by less than one step of theirs; one validation person
    # cannot show that the next person has no such near-ties, so int16 is the default (docs/int8-int16.md).
    activations: str = "int16"
    # Quantization-aware fine-tuning (qat.py) of the weights the int8-activation models are made from;
    # None: post-training quantization only.
    qat: QatConfig | None = None
    # How the deployed model's classes are decoded over time (decoding.py): "forward" or "none".
    decode: str = DEFAULT_DECODE
    # How many of the run's held-out windows (evenly spread) the integer models are checked and gated
    # on; None: all of them. Streaming each through the step models is most of an export's time.
    check_windows: int | None = None
    # The cores of device/cores.py the C engine's cost is measured on (each a QEMU run of some
    # seconds); None: every core whose cross compiler and QEMU are here.
    cores: tuple[str, ...] | None = None
    force: bool = False  # replace an existing RUN/export/ (only once the new one is complete)
    board: Board | None = None  # a board's sensor: sensor_input.c/.h beside the engine and in the library


EXPORT_BYTES = 20 * MB  # room an export needs: models, C arrays and engine (a few MB), the replaced one kept until the end


def export(opts: ExportOptions, console: Console | None = None) -> Path:
    console = console or user_console()
    _check_options(opts)
    run = Run(opts.run)
    run.config  # noqa: B018  read now: a missing or damaged config.json is named before any export work
    if opts.board is not None:
        check_model_takes_counts(run.sample_rate_hz, run.config.input_units)
    validation = _validation_subjects(run)
    check_destination(run.folder / EXPORT_DIR, "RUN", folder=True, force=opts.force, need_bytes=EXPORT_BYTES)
    r = run.receptive_field
    channels = run.model.config.input_channels
    calibration = load_windows(opts.calibration or run.folder / CALIBRATION_FILE, r, channels)
    holdout = load_windows(run.folder / HOLDOUT_FILE, r, channels)
    if opts.check_windows is not None:
        holdout = holdout.spread(opts.check_windows)
    window_model = folded_window_model(run.model)
    tuned = _quantization_aware(run, calibration, opts.qat, console) if opts.qat else None
    with staged_dir(run.folder / EXPORT_DIR, replace=True) as folder:
        report = _base_report(run, _decoding(run, opts.decode, console))
        console.print(f"Exporting R = {r} window model from {run.folder}")
        report.onnx_fp32 = _export_onnx_fp32(window_model, run, holdout, folder / FP32_ONNX)
        if opts.int8:
            window, report.step, report.quantization = _export_quantized(run, folder, calibration, holdout, opts,
                                                                         console, tuned)
            for name, value in window:
                setattr(report, name, value)
            report.gate = gate_report(window, report.step, report.quantization, validation, opts.min_agreement)
            _write_decoder_header(report.decoding, window.tflite_int8, report.step, folder)
            report.step.c_engine = _c_engine(run, folder, holdout, console, report.decoding, opts.cores, opts.board)
        else:
            console.print("Exporting the step model (one new column per layer per sample)")
            report.step = export_step_models(run.model, folder, calibration, holdout, False, console)
        report.file_bytes = {p.name: p.stat().st_size for p in sorted(folder.iterdir()) if p.is_file()}
        report.model_sha256 = model_fingerprint(run.folder)
        write_report(folder / EXPORT_JSON, report)
    out = run.folder / EXPORT_DIR
    _print_summary(console, report, out)
    enforce(report.gate)
    return out


def _check_options(opts: ExportOptions) -> None:
    if opts.activations not in ACTIVATION_CHOICES:
        raise UserError(f"--activations must be one of {', '.join(ACTIVATION_CHOICES)}, not {opts.activations!r}")
    if opts.decode not in DECODE_CHOICES:
        raise UserError(f"--decode must be one of {', '.join(DECODE_CHOICES)}, not {opts.decode!r}")
    if opts.check_windows is not None and opts.check_windows < 1:
        raise UserError(f"--check-windows must be a positive number of windows, not {opts.check_windows}")
    if opts.qat is not None and not opts.int8:
        raise UserError("--qat fine-tunes for the int8 models: add --int8")
    if opts.qat is not None and opts.activations == "int16":
        raise UserError("--qat simulates int8 activations: add --activations int8 (or auto)")
    unknown = sorted(set(opts.cores or ()) - set(CORES))
    if unknown:
        raise UserError(f"--cores takes {', '.join(CORES)}, not {', '.join(unknown)}")


def _base_report(run: Run, decoding: Decoding) -> ExportReport:
    config = run.model.config
    return ExportReport(
        receptive_field=run.receptive_field,
        classes=run.classes,
        sample_rate_hz=run.sample_rate_hz,
        params=count_params(run.model),
        macs_per_inference=macs_per_window(config),
        macs_per_step_streaming=macs_per_step(config),
        input_shape=[1, run.receptive_field, config.input_channels],
        output_shape=[1, config.num_classes],
        label_delay_steps=config.delay_steps,
        memory_keep=_memory_keep(run) or 0.0,
        input_units=run.config.input_units,
        input_normalization="none needed: raw units in (normalization folded into the first convolution)",
        tflite_input_channels=["x", "y", "z", *(["mean x", "mean y", "mean z"] if config.memory_s else []),
                               *(["|a|"] if config.magnitude else [])],
        synthetic_data=run.config.synthetic_data,
        decoding=decoding,
    )


def _write_window_onnx(model: WindowModel, path: Path, example: np.ndarray) -> None:
    torch.onnx.export(model, (torch.from_numpy(example),), str(path), input_names=[INPUT_NAME],
                      output_names=[OUTPUT_NAME], dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                      opset_version=17, dynamo=False)


def _decoding(run: Run, method: str, console: Console) -> Decoding:
    """The decoder the deployed model runs, with the transitions its run learned."""
    path = run.folder / DECODING_FILE
    if method == "none":
        return Decoding(method="none")
    if not path.is_file():
        console.print(f"{run.folder} predates decoding (no {DECODING_FILE}): exporting without it; "
                      "retrain to add it", style="yellow")
        return Decoding(method="none", note=f"the run has no {DECODING_FILE}")
    return Decoding.model_validate({"method": method, **json.loads(path.read_text())})


def _write_decoder_header(decoding: Decoding, window: TfliteModel, step: StepModels, folder: Path) -> None:
    """decoder.h, where the model is decoded: the filter for firmware, scaled to both models' logits."""
    if decoding.method != "forward" or decoding.transitions is None or step.tflite_int8 is None:
        return
    scales = {"Window": window.output_scale, "Step": step.tflite_int8.output_scale}
    (folder / DECODER_HEADER).write_text(decoder_header(Transitions.from_dict(decoding.transitions), scales))
    decoding.c_header = DECODER_HEADER


def _export_onnx_fp32(model: WindowModel, run: Run, holdout: WindowSet, path: Path) -> OnnxCheck:
    import onnx

    _write_window_onnx(model, path, holdout.windows[:2])
    proto = onnx.load(str(path))
    metadata = {"classes": json.dumps(run.classes), "receptive_field": str(run.receptive_field),
                "sample_rate_hz": json.dumps(run.sample_rate_hz), "producer": "edge-har"}
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
    difference = np.abs(OnnxBackend(path, "onnx_fp32").predict(holdout.windows)
                        - TorchBackend(model).predict(holdout.windows)).max()
    if difference > ONNX_TOLERANCE:
        raise RuntimeError(f"ONNX Runtime differs from PyTorch by {difference:.2e} (limit {ONNX_TOLERANCE})")
    return OnnxCheck(max_abs_logit_difference_vs_pytorch=float(difference),
                     ops=sorted({node.op_type for node in proto.graph.node}))


def _quantization_aware(run: Run, calibration: WindowSet, config: QatConfig, console: Console) -> TCN:
    console.print(f"Quantization-aware fine-tuning: {config.steps} steps on augmented calibration windows")
    with Progress(console=console, transient=True) as progress:
        return quantization_aware_tcn(run.model, calibration, run.config.train, config, progress)


def _export_quantized(run: Run, folder: Path, calibration: WindowSet, holdout: WindowSet, opts: ExportOptions,
                      console: Console, tuned: TCN | None) -> tuple[WindowInt8, StepModels, Quantization]:
    """The integer window and step models with int8 activations (made from `tuned`, the
    quantization-aware weights, where given) and, where `opts.activations` asks or allows, int16
    ones; the files of the last attempt stay. fp32 stays the run's own model."""
    plan = list(ACTIVATIONS) if opts.activations == "auto" else [opts.activations]
    enough = max(opts.min_agreement, PARITY_MIN_AGREEMENT)  # int8 is kept only where it keeps parity's promise
    tried: list[Attempt] = []
    for activations in plan:
        source = tuned if activations == "int8" else None
        window = _export_int8(run.model, folder, calibration, holdout, console, activations, source)
        console.print(f"Exporting the step model (one new column per layer per sample), {activations} activations")
        step = export_step_models(run.model, folder, calibration, holdout, True, console, activations, source)
        assert step.tflite_int8 is not None  # asked for with int8=True
        write_step_array(folder, Path(STEP_INT8_TFLITE).stem, step.tflite_int8, run.receptive_field)
        agreed = agreements(window, step)
        tried.append(Attempt(activations=activations, qat=source is not None, agreement_with_fp32=agreed))
        if min(agreed.values()) >= enough or activations == plan[-1]:
            break
        console.print(f"int8 activations agree with fp32 on {min(agreed.values()):.4f} of steps at "
                      f"worst, below {enough}: trying int16 activations with int8 weights (16x8)", style="yellow")
    quantization = Quantization(weights="int8", activations=activations, qat=tried[-1].qat, tried=tried,
                                qat_config=asdict(opts.qat) if opts.qat else None)
    return window, step, quantization


def _memory_keep(run: Run) -> float | None:
    """The share of its memory the model keeps each step; None without a memory."""
    seconds = run.model.config.memory_s
    return memory_keep(seconds, run.sample_rate_hz or 0.0) if seconds else None


def _c_engine(run: Run, folder: Path, holdout: WindowSet, console: Console, decoding: Decoding,
              cores: tuple[str, ...] | None, board: Board | None = None) -> CEngine | None:
    """step_engine.c/.h for the step model (with decoder.h's integer filter where the export decodes),
    and what it costs on each of `cores` (None: all) whose cross compiler and QEMU are here
    (measured on the run's held-out windows, one after another); None where the model has no engine."""
    try:
        engine = write_engine(folder / STEP_INT8_TFLITE, folder, run.folder.name, run.classes, run.receptive_field,
                              run.config.input_units, decoded=decoding.c_header is not None,
                              label_delay=run.model.config.delay_steps, memory_keep=_memory_keep(run))
    except EngineError as reason:
        console.print(f"No C step engine for this model: {reason}", style="yellow")
        return None
    sensor_sources = []
    if board is not None:
        sensor = sensor_for_model(folder / STEP_INT8_TFLITE, board, run.sample_rate_hz, run.config.input_units,
                                  _memory_keep(run) or 0.0)
        sensor_sources = [path.name for path in write_sensor_input(sensor, board.units, run.folder.name, folder)]
        console.print(f"Wrote {', '.join(sensor_sources)}: the board's counts ({board.units.per_count:g} "
                      f"{board.units.units} each) at {sensor.board_rate_hz:g} Hz to the model's input")
    write_library(folder, run.folder.name, engine, run.receptive_field, run.sample_rate_hz, sensor_sources)
    count = max(1, BENCH_SAMPLES // holdout.windows.shape[1])
    readings = holdout.windows[:count, :, :3].reshape(-1, 3)
    labels = np.repeat(holdout.labels[:count], holdout.windows.shape[1])
    for core in CORES.values():
        missing = core.missing() if cores is None or core.name in cores else "not asked for (export --cores)"
        if missing is not None:
            console.print(f"The C step engine's cost on a {core.title} is not measured: {missing}")
            engine.cores[core.name] = NotMeasured(not_measured=missing)
            continue
        console.print(f"Measuring the C step engine on an emulated {core.title} under QEMU")
        engine.cores[core.name] = core_cost(core, folder, readings, labels, run.classes, run.sample_rate_hz,
                                            macs_per_step(run.model.config))
    engine.cortex_m4 = engine.cores["m4"]
    return engine


def _export_int8(model: TCN, folder: Path, calibration: WindowSet, holdout: WindowSet, console: Console,
                 activations: str, source: TCN | None = None) -> WindowInt8:
    """Integer window models of `source` (default: `model`), judged against `model`'s fp32 ONNX."""

    source = source or model
    console.print(f"Quantizing with {len(calibration.windows)} calibration windows ({activations} activations)")
    with _fp32_onnx_of(source, model, folder, holdout.windows[:2]) as fp32:
        quantize_onnx(fp32, folder / INT8_ONNX, [(w[None],) for w in calibration.windows], activations)
    io = quantize_tflite(folded_window_model(source, features_inside=False),
                         [(w[None],) for w in tflite_input(model, calibration.windows)], folder / INT8_TFLITE,
                         activations)
    litert = LiteRTBackend(folder / INT8_TFLITE)
    arena = tflm_arena_bytes(folder / INT8_TFLITE, [litert.io.quantize(holdout.windows[:1])])
    tflite = TfliteModel.model_validate({**io, "tflm_arena_bytes": arena})
    write_window_array(folder, Path(INT8_TFLITE).stem, tflite)
    console.print(f"Checking int8 against fp32 on {len(holdout.windows)} held-out windows")
    reference = OnnxBackend(folder / FP32_ONNX, "onnx_fp32").predict(holdout.windows).argmax(1)
    litert_classes = litert.predict(holdout.windows).argmax(1)
    tflm_classes = TflmBackend(folder / INT8_TFLITE, arena).predict(holdout.windows).argmax(1)
    return WindowInt8(
        tflite_int8=tflite,
        agreement_with_fp32={
            "onnx_int8": agreement(OnnxBackend(folder / INT8_ONNX, "onnx_int8").predict(holdout.windows).argmax(1),
                                   reference),
            "tflite_int8": agreement(litert_classes, reference),
            "tflm_int8": agreement(tflm_classes, reference),
        },
        tflm_matches_tflite=agreement(tflm_classes, litert_classes),
        holdout_windows=len(holdout.windows),
        calibration_windows=len(calibration.windows),
    )


@contextmanager
def _fp32_onnx_of(source: TCN, model: TCN, folder: Path, example: np.ndarray) -> Iterator[Path]:
    """The fp32 ONNX to quantize: the run's own, or a transient one of other weights."""
    if source is model:
        yield folder / FP32_ONNX
        return
    with transient_file(folder / f".source_{FP32_ONNX}") as path:
        _write_window_onnx(folded_window_model(source), path, example)
        yield path


def _print_summary(console: Console, report: ExportReport, out: Path) -> None:
    console.print(", ".join(f"{name} {size / 1024:.1f} KiB" for name, size in report.file_bytes.items()))
    step = report.step
    if report.agreement_with_fp32 and report.tflite_int8 and step and step.agreement_with_fp32 and step.tflite_int8:
        console.print("Agreement with fp32: " + ", ".join(f"{k} {v:.4f}" for k, v in report.agreement_with_fp32.items())
                      + f"; TFLite-Micro arena {report.tflite_int8.tflm_arena_bytes} bytes")
        console.print(f"Step model, {step.checked_windows} streamed windows "
                      f"({step.tflm_checked_windows} on TFLite-Micro): "
                      + ", ".join(f"{k} {v:.4f}" for k, v in step.agreement_with_fp32.items())
                      + f"; TFLite-Micro arena {step.tflite_int8.tflm_arena_bytes} bytes")
        if step.c_engine:
            console.print(_engine_line(step.c_engine))
    console.print(f"Export written to {out}", style="bold green")


def _engine_line(engine: CEngine) -> str:
    line = f"C step engine (step_engine.c): RAM {engine.ram_bytes} bytes"
    for name, cost in engine.cores.items():
        if isinstance(cost, CoreCost):
            line += (f"; {name}: {cost.flash_bytes} bytes of flash, {cost.instructions_per_sample} instructions "
                     f"per sample ({cost.instructions_per_mac} per MAC)")
    return line


def _validation_subjects(run: Run) -> list[str] | None:
    """Read before the export's work, so that a damaged metrics.json ends it then, not after it;
    None for a run from before metrics.json named them."""
    return run.metrics.final.validation_subjects if run.metrics.final else None
