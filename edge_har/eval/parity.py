"""`edge-har parity RUN --data PATH`: does the int8 model still do the job, step by step?

Every backend sees what the device will see, one prediction per step. With the rolling
engine, that is the window of the last R samples at each new sample (the first sample
repeated before the start of a recording); TFLite-Micro is slow on a PC with it, so it runs on
an even spread of `tflm_steps` steps. With the step engine, every backend's step model is
streamed through each whole recording, TFLite-Micro included.

The fp32 reference is the PyTorch model where the training install is present, else the
exported ONNX fp32 model (the host install runs parity without torch).
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from rich.console import Console
from rich.table import Table

from ..core.config import PARITY_MIN_AGREEMENT
from ..core.console import job_progress, styled, user_console
from ..core.decoding import ForwardFilter, Transitions, softmax
from ..core.errors import DataError, GateFailure
from ..core.features import pad_start
from ..core.files import check_destination, write_json
from ..core.install import TRAIN_INSTALL, has_training_stack
from ..core.labels import UNLABELED
from ..core.metrics import agreement, confusion_matrix, summarize
from ..core.run_files import MODEL_FILE
from ..core.workers import HERE, TaskRows, Workers
from ..data.dataset import Dataset, at_rate, with_label_delay
from ..data.loading import load_data
from ..device.c_backend import C_ENGINE, CStepBackend, c_compiler
from ..runtime.engines import INT8_BACKENDS, check_engine, step_backend, window_backend
from ..runtime.export_folder import Exported
from . import plots

PYTORCH, ONNX_FP32 = "pytorch_fp32", "onnx_fp32"
PARITY_JSON, PARITY_PNG = "parity.json", "parity.png"


@dataclass
class ParityOptions:
    run: Path
    data: str | None = None
    subjects: list[str] | None = None
    tflm_steps: int = 2000
    min_agreement: float = PARITY_MIN_AGREEMENT
    max_drop: float = 0.003  # accuracy points as a fraction
    out: Path | None = None  # folder for parity.json and parity.png (default: the run)
    engine: str = "rolling"  # or "step"
    sample_rate_hz: float | None = None  # the rate of data that does not state one
    # The fp32 PyTorch model as the reference (`model.pytorch_reference`, handed in where the training
    # install is); None: the exported ONNX fp32 model is the reference
    reference: Callable[[Path, str], object] | None = None
    workers: Workers = HERE  # where each subject's job runs: here, one after another, or on Ray
    force: bool = False  # replace an existing parity.json and parity.png


def rolling_windows(x: np.ndarray, receptive_field: int) -> np.ndarray:
    """(N, R, channels) view: the rolling buffer's content at every step, start rule applied."""
    padded = pad_start(x.astype(np.float32), receptive_field)
    return sliding_window_view(padded, receptive_field, axis=0).transpose(0, 2, 1)


def parity(opts: ParityOptions, console: Console | None = None) -> dict:
    console = console or user_console()
    check_engine(opts.engine)
    opts.workers.check()
    export = Exported.open(opts.run)
    export.require_int8(opts.engine)
    report_dir = opts.out or export.run_folder
    check_destination(report_dir, "--out", folder=True, force=True)  # a folder to write in (the run's, by default)
    for name in (PARITY_JSON, PARITY_PNG):
        check_destination(report_dir / name, "--out", force=opts.force, make_parents=True)
    data = _matching_data(export, opts, console)
    names = _backend_names(export, opts, console)
    logits, tflm_rows, seconds = _logits(export, data, names, opts, console)
    steps = _collect_step(data, names, logits) if opts.engine == "step" else _collect(data, names, logits, tflm_rows)
    logits, transitions = steps.pop("logits"), export.transitions()
    if transitions is not None:
        steps["decoded"] = _decoded(logits, transitions)
    report = _report(export, data, steps, opts)
    for name, took in seconds.items():
        report["backends"][name]["seconds"] = round(took, 3)
    report_dir.mkdir(parents=True, exist_ok=True)
    write_json(report_dir / PARITY_JSON, report)
    plots.parity_report(report, steps, export.classes, report_dir / PARITY_PNG, export.sample_rate_hz)
    _print_table(console, report, report_dir)
    _gate(report)
    return report


def _matching_data(export: Exported, opts: ParityOptions, console: Console) -> Dataset:
    """The data as the model takes it: its classes, its channels, at its sample rate."""
    data = load_data(opts.data, opts.sample_rate_hz)
    if opts.subjects:
        data = data.select(opts.subjects)
    if export.sample_rate_hz:
        data, notes = at_rate(data, export.sample_rate_hz)
        for note in notes:
            console.print(styled(("Rate:", "bold"), f" {note}, the model's rate"))
    unknown = [c for c in data.classes if c not in export.classes]
    if unknown:
        raise DataError(f"the data has class(es) {unknown} that the model does not know ({export.classes})")
    if export.synthetic_data and not data.synthetic:
        raise DataError(f"{export.run_folder} was trained on the built-in SYNTHETIC data; its parity on "
                        f"{data.source} would say nothing. Train on your data first: `edge-har train --data {opts.data}`")
    channels = data.recordings[0].x.shape[1]
    if channels != export.axes:
        raise DataError(f"the data has {channels} channels; the model takes {export.axes}")
    # the model's readings: the axes, then their memory where it has one (features.Memory)
    data = replace(data, recordings=[replace(r, x=export.model_readings(r.x)) for r in data.recordings])
    remap = np.array([export.classes.index(c) for c in data.classes])
    for rec in data.recordings:
        rec.y = np.where(rec.y == UNLABELED, UNLABELED, remap[np.maximum(rec.y, 0)])
    data.classes = list(export.classes)
    return with_label_delay(data, export.label_delay_steps)  # held to the step each output names


def _backend_names(export: Exported, opts: ParityOptions, console: Console) -> list[str]:
    """The fp32 reference first, then every exported backend of the engine, saying why one is left out."""
    names = [ONNX_FP32, *INT8_BACKENDS]
    if opts.engine == "step" and _has_c_engine(export, console):
        names.append(C_ENGINE)
    if not (export.run_folder / MODEL_FILE).is_file():
        console.print(f"No {MODEL_FILE} beside the export: onnx_fp32 is the fp32 reference")
        return names
    if opts.reference is None:
        console.print("PyTorch is not installed (the host install): onnx_fp32 is the fp32 reference; "
                      f"`{TRAIN_INSTALL}` adds the PyTorch one" if not has_training_stack()
                      else "onnx_fp32 is the fp32 reference")
        return names
    return [PYTORCH, *names]


def _has_c_engine(export: Exported, console: Console) -> bool:
    """Whether the exported C step engine can be compiled and checked here."""
    if export.c_engine is None:
        console.print("No C step engine in this export (an export from an older edge-har: export again to get one)")
        return False
    if c_compiler() is None:
        console.print("No C compiler here ($CC, cc or gcc): the C step engine is not checked")
        return False
    return True


@dataclass(frozen=True)
class _Shared:
    """What every subject's job reads (on Ray: put in the object store once)."""

    run: Path
    engine: str
    names: list[str]
    reference: Callable[[Path, str], object] | None
    receptive_field: int
    token: str  # this parity run's: a worker builds its backends once per run
    recordings: list[np.ndarray]  # every recording's readings
    tflm_rows: list[np.ndarray]  # rolling engine: the steps of each recording TFLite-Micro runs on


_BUILT: dict[str, dict] = {}  # the backends this process built for the latest parity run, by its token


def _backends(shared: _Shared, threads: int | None) -> dict:
    """The run's backends, built once per process; `threads`: the cores this job may use (None: all here)."""
    if shared.token not in _BUILT:
        export = Exported.open(shared.run)
        built = {}
        for name in shared.names:
            if name == PYTORCH and shared.reference is not None:
                built[name] = shared.reference(shared.run, shared.engine)
            elif name == C_ENGINE and export.c_engine is not None:
                built[name] = CStepBackend(export.folder, export.c_engine, export.receptive_field)
            elif shared.engine == "step":
                built[name] = step_backend(name, export)
            else:
                built[name] = window_backend(name, export, threads or os.cpu_count() or 1)
        _BUILT.clear()
        _BUILT[shared.token] = built
    return _BUILT[shared.token]


def _subject_job(shared: _Shared, recordings: list[int],
                 threads: int | None) -> tuple[list[dict[str, np.ndarray]], dict[str, float]]:
    """Every backend's logits on each of one subject's recordings: every step (the step engine
    streams each whole recording), or with the rolling engine, TFLite-Micro on its chosen steps;
    and the seconds each backend took."""
    backends, out = _backends(shared, threads), []
    seconds = dict.fromkeys(backends, 0.0)
    for i in recordings:
        x = shared.recordings[i].astype(np.float32)
        windows = rolling_windows(x, shared.receptive_field) if shared.engine != "step" else None
        logits = {}
        for name, backend in backends.items():
            started = time.perf_counter()
            if windows is None:
                logits[name] = backend.run(x)
            else:
                logits[name] = backend.predict(np.ascontiguousarray(
                    windows[shared.tflm_rows[i]] if name == "tflm_int8" else windows))
            seconds[name] += time.perf_counter() - started
        out.append(logits)
    return out, seconds


def _logits(export: Exported, data: Dataset, names: list[str], opts: ParityOptions,
            console: Console) -> tuple[list[dict[str, np.ndarray]], list[np.ndarray], dict[str, float]]:
    """Every backend's logits on every recording, a job per subject on opts.workers; with the
    rolling engine, the steps of each recording TFLite-Micro ran on (an even spread of tflm_steps);
    and each backend's seconds, over all subjects."""
    total = sum(len(rec) for rec in data.recordings)
    sample = np.linspace(0, total - 1, num=min(opts.tflm_steps, total)).astype(int)
    starts = np.cumsum([0] + [len(rec) for rec in data.recordings])
    tflm_rows = [sample[(sample >= start) & (sample < start + len(rec))] - start
                 for start, rec in zip(starts, data.recordings)]
    subjects = list(dict.fromkeys(rec.subject for rec in data.recordings))
    jobs = [[i for i, rec in enumerate(data.recordings) if rec.subject == subject] for subject in subjects]
    shared = _Shared(export.run_folder, opts.engine, names, opts.reference, export.receptive_field, uuid.uuid4().hex,
                     [rec.x for rec in data.recordings], tflm_rows)
    per_recording: dict[int, dict[str, np.ndarray]] = {}
    seconds = dict.fromkeys(names, 0.0)
    with job_progress(console, counts=False, transient=True) as progress:
        rows = TaskRows(progress, [f"parity: {subject}" for subject in subjects], live=True)

        def landed(index: int, done: tuple[list[dict[str, np.ndarray]], dict[str, float]]) -> None:
            logits, took = done
            per_recording.update(zip(jobs[index], logits))
            for name, value in took.items():
                seconds[name] += value
            steps = sum(len(data.recordings[i]) for i in jobs[index])
            rows.landed(index, f"{', '.join(names)} on {steps:,} steps")

        opts.workers.map(_subject_job, shared, jobs, landed)
    return [per_recording[i] for i in range(len(data.recordings))], tflm_rows, seconds


def _collect(data: Dataset, names: list[str], logits: list[dict[str, np.ndarray]],
             tflm_rows: list[np.ndarray]) -> dict:
    """Predicted classes of every backend at every step (TFLite-Micro on a spread sample)."""
    starts = np.cumsum([0] + [len(rec) for rec in data.recordings])
    return {"true": np.concatenate([rec.y for rec in data.recordings]),
            "tflm_index": np.concatenate([rows + start for rows, start in zip(tflm_rows, starts)]),
            "reference": names[0],
            "pred": {name: np.concatenate([one[name].argmax(axis=1) for one in logits]) for name in names},
            # TFLite-Micro's steps are not contiguous: no logits kept for it
            "logits": {name: [one[name] for one in logits] for name in names if name != "tflm_int8"}}


def _collect_step(data: Dataset, names: list[str], logits: list[dict[str, np.ndarray]]) -> dict:
    """Every step model streamed through every whole recording, against the fp32 reference."""
    reference = names[0]
    true = np.concatenate([rec.y for rec in data.recordings])
    collected = {"true": true, "tflm_index": np.arange(len(true)), "reference": reference,
                 "pred": {name: np.concatenate([one[name].argmax(axis=1) for one in logits]) for name in names},
                 "logits": {name: [one[name] for one in logits] for name in names}}
    if reference != ONNX_FP32:
        collected["fp32_step_max_abs_logit_difference"] = max(
            float(np.abs(one[ONNX_FP32] - one[reference]).max()) for one in logits)
    if C_ENGINE in names and "tflm_int8" in names:
        c = np.concatenate([one[C_ENGINE] for one in logits])
        tflm = np.concatenate([one["tflm_int8"] for one in logits])
        collected["c_engine_vs_tflm"] = {"identical_logits": float(np.all(c == tflm, axis=1).mean()),
                                         "agreement": agreement(c.argmax(1), tflm.argmax(1))}
    return collected


def _decoded(logits: dict[str, list[np.ndarray]], transitions: Transitions) -> dict[str, np.ndarray]:
    """Each backend's classes decoded over time, every recording from a fresh filter."""
    return {name: np.concatenate([ForwardFilter(transitions).run(softmax(one)) for one in recordings])
            for name, recordings in logits.items()}


def _report(export: Exported, data: Dataset, steps: dict, opts: ParityOptions) -> dict:
    true, pred, sampled = steps["true"], steps["pred"], steps["tflm_index"]
    reference_name = steps["reference"]
    reference = pred[reference_name]
    classes = export.classes
    backends = {}
    for name, predicted in pred.items():
        on_sample = name == "tflm_int8"
        truth, ref = (true[sampled], reference[sampled]) if on_sample else (true, reference)
        confusion = confusion_matrix(truth, predicted, len(classes))
        entry = {**summarize(confusion, classes), "confusion": confusion.tolist(), "steps_evaluated": len(predicted)}
        if name != reference_name:
            ref_summary = summarize(confusion_matrix(truth, ref, len(classes)), classes)
            entry["agreement_with_fp32"] = agreement(predicted, ref)
            entry["accuracy_drop_vs_fp32"] = ref_summary["accuracy"] - entry["accuracy"]
        if name in steps.get("decoded", {}):
            entry["decoded"] = _decoded_entry(true, steps["decoded"][name], steps["decoded"][reference_name], classes)
        backends[name] = entry
    if "c_engine_vs_tflm" in steps:
        backends[C_ENGINE]["vs_tflm_int8"] = steps["c_engine_vs_tflm"]
    if "fp32_step_max_abs_logit_difference" in steps:
        backends[ONNX_FP32]["max_abs_logit_difference_vs_fp32"] = steps["fp32_step_max_abs_logit_difference"]
    engine = ("step model: one new column per layer per sample, state kept" if opts.engine == "step"
              else "rolling buffer of the last R samples")
    return {
        "run": str(export.run_folder), "data": data.source, "synthetic_data": data.synthetic,
        "subjects": data.subjects, "steps": int(len(true)), "labelled_steps": int((true != UNLABELED).sum()),
        "receptive_field": export.receptive_field, "label_delay_steps": export.label_delay_steps,
        "classes": classes, "reference": reference_name,
        "tflm_steps": int(len(sampled)), "engine": engine, "engine_name": opts.engine,
        "thresholds": {"min_agreement": opts.min_agreement, "max_drop": opts.max_drop},
        "decoding": "forward" if "decoded" in steps else "none",
        "backends": backends,
    }


def _decoded_entry(true: np.ndarray, decoded: np.ndarray, reference: np.ndarray, classes: list[str]) -> dict:
    summary = summarize(confusion_matrix(true, decoded, len(classes)), classes)
    return {"accuracy": summary["accuracy"], "macro_f1": summary["macro_f1"],
            "agreement_with_fp32": agreement(decoded, reference)}


def _print_table(console: Console, report: dict, folder: Path) -> None:
    tag = " (SYNTHETIC data)" if report["synthetic_data"] else ""
    table = Table(title=f"Per-step parity on {report['steps']} steps of {', '.join(report['subjects'])}{tag}")
    decoding = report["decoding"] == "forward"
    columns = ["backend", "steps", "seconds", "accuracy", "macro-F1", "agreement with fp32", "accuracy vs fp32"]
    for column in columns + (["decoded accuracy", "decoded agreement"] if decoding else []):
        table.add_column(column, justify="right" if column != "backend" else "left")
    for name, entry in report["backends"].items():
        row = [name, str(entry["steps_evaluated"]), f"{entry['seconds']:.1f}", f"{entry['accuracy']:.4f}",
               f"{entry['macro_f1']:.4f}",
               f"{entry['agreement_with_fp32']:.4f}" if "agreement_with_fp32" in entry else "reference",
               f"{-entry['accuracy_drop_vs_fp32'] * 100:+.2f} pts" if "accuracy_drop_vs_fp32" in entry else ""]
        if decoding:
            decoded = entry.get("decoded")
            row += [f"{decoded['accuracy']:.4f}", "reference" if name == report["reference"] else
                    f"{decoded['agreement_with_fp32']:.4f}"] if decoded else ["not contiguous", ""]
        table.add_row(*row)
    console.print(table)
    if decoding:
        console.print("Decoded: every backend's logits through the export's forward filter (causal, per recording).")
    difference = report["backends"][ONNX_FP32].get("max_abs_logit_difference_vs_fp32")
    if difference is not None:
        console.print(f"Step engine: fp32 step model within {difference:.1e} of the fp32 reference's logits on "
                      "every step; TFLite-Micro ran on every step.")
    elif report["engine_name"] == "rolling":
        console.print(f"TFLite-Micro ran on {report['tflm_steps']} evenly spread steps.")
    console.print(f"Written: {folder / PARITY_JSON}, {folder / PARITY_PNG}")


def _gate(report: dict) -> None:
    limits = report["thresholds"]
    failures = []
    for name in INT8_BACKENDS:
        entry = report["backends"][name]
        if entry["agreement_with_fp32"] < limits["min_agreement"]:
            failures.append(f"{name} agreement {entry['agreement_with_fp32']:.4f} < {limits['min_agreement']}")
        decoded = entry.get("decoded")
        if decoded and decoded["agreement_with_fp32"] < limits["min_agreement"]:
            failures.append(f"{name} decoded agreement {decoded['agreement_with_fp32']:.4f} < {limits['min_agreement']}")
        if entry["accuracy_drop_vs_fp32"] > limits["max_drop"]:
            failures.append(f"{name} accuracy drop {entry['accuracy_drop_vs_fp32'] * 100:.2f} points "
                            f"> {limits['max_drop'] * 100:.2f}")
    if failures:
        raise GateFailure("; ".join(failures))
