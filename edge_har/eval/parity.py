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

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from ..core.config import PARITY_MIN_AGREEMENT
from ..core.decoding import ForwardFilter, Transitions, softmax
from ..core.errors import DataError, GateFailure
from ..core.features import pad_start
from ..core.files import check_destination, write_json
from ..core.install import TRAIN_INSTALL, has_training_stack
from ..core.labels import UNLABELED
from ..core.metrics import agreement, confusion_matrix, summarize
from ..core.run_files import MODEL_FILE
from ..data.dataset import Dataset, at_rate
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


def rolling_windows(x: np.ndarray, receptive_field: int) -> np.ndarray:
    """(N, R, channels) view: the rolling buffer's content at every step, start rule applied."""
    padded = pad_start(x.astype(np.float32), receptive_field)
    return sliding_window_view(padded, receptive_field, axis=0).transpose(0, 2, 1)


def parity(opts: ParityOptions, console: Console | None = None) -> dict:
    console = console or Console()
    check_engine(opts.engine)
    export = Exported.open(opts.run)
    export.require_int8(opts.engine)
    report_dir = opts.out or export.run_folder
    check_destination(report_dir, "--out", folder=True, force=True)  # its parity.json and .png are replaced
    data = _matching_data(export, opts, console)
    backends = _backends(export, opts, console)
    if opts.engine == "step":
        steps = _collect_step(data, backends, console)
    else:
        steps = _collect(export, data, backends, opts.tflm_steps, console)
    logits, transitions = steps.pop("logits"), export.transitions()
    if transitions is not None:
        steps["decoded"] = _decoded(logits, transitions)
    report = _report(export, data, steps, opts)
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
            console.print(f"[bold]Rate:[/] {note}, the model's rate")
    unknown = [c for c in data.classes if c not in export.classes]
    if unknown:
        raise DataError(f"the data has class(es) {unknown} that the model does not know ({export.classes})")
    if export.synthetic_data and not data.synthetic:
        raise DataError(f"{export.run_folder} was trained on the built-in SYNTHETIC data; its parity on "
                        f"{data.source} would say nothing. Train on your data first: `edge-har train --data {opts.data}`")
    channels = data.recordings[0].x.shape[1]
    if channels != export.readings:
        raise DataError(f"the data has {channels} channels; the model takes {export.readings}")
    remap = np.array([export.classes.index(c) for c in data.classes])
    for rec in data.recordings:
        rec.y = np.where(rec.y == UNLABELED, UNLABELED, remap[np.maximum(rec.y, 0)])
    data.classes = list(export.classes)
    return data


def _backends(export: Exported, opts: ParityOptions, console: Console) -> dict:
    """The fp32 reference first, then every exported backend of the engine."""
    make = step_backend if opts.engine == "step" else window_backend
    exported = {name: make(name, export) for name in (ONNX_FP32, *INT8_BACKENDS)}
    if opts.engine == "step":
        exported.update(_c_engine(export, console))
    if not (export.run_folder / MODEL_FILE).is_file():
        console.print(f"No {MODEL_FILE} beside the export: onnx_fp32 is the fp32 reference")
        return exported
    if opts.reference is None:
        console.print("PyTorch is not installed (the host install): onnx_fp32 is the fp32 reference; "
                      f"`{escape(TRAIN_INSTALL)}` adds the PyTorch one" if not has_training_stack()
                      else "onnx_fp32 is the fp32 reference")  # escaped: rich reads [train] as markup
        return exported
    return {PYTORCH: opts.reference(export.run_folder, opts.engine), **exported}


def _c_engine(export: Exported, console: Console) -> dict:
    """The exported C step engine, compiled here, where the export has one and a C compiler is present."""
    engine = export.c_engine
    if engine is None:
        console.print("No C step engine in this export (an export from an older edge-har: export again to get one)")
        return {}
    if c_compiler() is None:
        console.print("No C compiler here ($CC, cc or gcc): the C step engine is not checked")
        return {}
    return {C_ENGINE: CStepBackend(export.folder, engine, export.receptive_field)}


def _collect(export: Exported, data: Dataset, backends: dict, tflm_steps: int, console: Console) -> dict:
    """Predicted classes of every backend at every step (TFLite-Micro on a spread sample)."""
    r = export.receptive_field
    total = sum(len(rec) for rec in data.recordings)
    sample = set(np.linspace(0, total - 1, num=min(tflm_steps, total)).astype(int).tolist())
    pred: dict[str, list[np.ndarray]] = {name: [] for name in backends}
    # TFLite-Micro's steps are not contiguous: no logits kept for it
    logits: dict[str, list[np.ndarray]] = {name: [] for name in backends if name != "tflm_int8"}
    true, tflm_index, offset = [], [], 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("backends x recordings", total=len(data.recordings) * len(backends))
        for rec in data.recordings:
            windows = rolling_windows(rec.x, r)
            local = np.array(sorted(i - offset for i in sample if offset <= i < offset + len(rec)), dtype=int)
            for name, backend in backends.items():
                chosen = windows[local] if name == "tflm_int8" else windows
                predicted = backend.predict(np.ascontiguousarray(chosen))
                pred[name].append(predicted.argmax(axis=1))
                if name in logits:
                    logits[name].append(predicted)
                _advance(progress, task, f"{name} on {rec.subject}: {len(chosen):,} windows")
            true.append(rec.y)
            tflm_index.append(local + offset)
            offset += len(rec)
    return {"true": np.concatenate(true), "tflm_index": np.concatenate(tflm_index), "reference": next(iter(backends)),
            "pred": {name: np.concatenate(p) for name, p in pred.items()}, "logits": logits}


def _advance(progress: Progress, task, done: str) -> None:
    """One backend through one recording: the bar, or a line where the output is not a terminal."""
    progress.advance(task)
    if not progress.console.is_terminal:
        progress.console.print(f"parity: {done}")


def _collect_step(data: Dataset, backends: dict, console: Console) -> dict:
    """Every step model streamed through every whole recording, against the fp32 reference."""
    reference = next(iter(backends))
    pred: dict[str, list[np.ndarray]] = {name: [] for name in backends}
    kept: dict[str, list[np.ndarray]] = {name: [] for name in backends}
    truths, largest_difference = [], 0.0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("step models x recordings", total=len(data.recordings) * len(backends))
        for rec in data.recordings:
            logits = {}
            for name, backend in backends.items():
                logits[name] = backend.run(rec.x.astype(np.float32))
                pred[name].append(logits[name].argmax(axis=1))
                kept[name].append(logits[name])
                _advance(progress, task, f"{name} on {rec.subject}: {len(rec):,} steps")
            if reference != ONNX_FP32:
                largest_difference = max(largest_difference, float(np.abs(logits[ONNX_FP32] - logits[reference]).max()))
            truths.append(rec.y)
    true = np.concatenate(truths)
    collected = {"true": true, "tflm_index": np.arange(len(true)), "reference": reference,
                 "pred": {name: np.concatenate(p) for name, p in pred.items()}, "logits": kept}
    if reference != ONNX_FP32:
        collected["fp32_step_max_abs_logit_difference"] = largest_difference
    if C_ENGINE in kept and "tflm_int8" in kept:
        c, tflm = np.concatenate(kept[C_ENGINE]), np.concatenate(kept["tflm_int8"])
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
        "receptive_field": export.receptive_field, "classes": classes, "reference": reference_name,
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
    columns = ["backend", "steps", "accuracy", "macro-F1", "agreement with fp32", "accuracy vs fp32"]
    for column in columns + (["decoded accuracy", "decoded agreement"] if decoding else []):
        table.add_column(column, justify="right" if column != "backend" else "left")
    for name, entry in report["backends"].items():
        row = [name, str(entry["steps_evaluated"]), f"{entry['accuracy']:.4f}", f"{entry['macro_f1']:.4f}",
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
