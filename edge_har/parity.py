"""`edge-har parity RUN --data PATH`: does the int8 model still do the job, step by step?

Every backend sees what the device will see, one prediction per step. With the rolling
engine, that is the window of the last R samples at each new sample (the first sample
repeated before the start of a recording); TFLite-Micro is slow on a PC with it, so it runs on
an even spread of `tflm_steps` steps. With the step engine, every backend's step model is
streamed through each whole recording, TFLite-Micro included. The reference is always the
fp32 PyTorch model over the last R samples.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from . import plots
from .backends import TorchBackend
from .data import UNLABELED, Dataset, load_data
from .deploy import folded_window_model
from .engines import ENGINES, INT8_BACKENDS, step_backend, window_backend
from .errors import DataError, GateFailure, UserError
from .export import check_export_has_step_models, check_run_has_export
from .metrics import agreement, confusion_matrix, summarize
from .model import pad_start, predict_logits
from .run import Run, write_json

REFERENCE = "pytorch_fp32"
PARITY_JSON, PARITY_PNG = "parity.json", "parity.png"


@dataclass
class ParityOptions:
    run: Path
    data: str | None = None
    subjects: list[str] | None = None
    tflm_steps: int = 2000
    min_agreement: float = 0.995
    max_drop: float = 0.003  # accuracy points as a fraction
    out: Path | None = None  # folder for parity.json and parity.png (default: the run)
    engine: str = "rolling"  # or "step"


def rolling_windows(x: np.ndarray, receptive_field: int) -> np.ndarray:
    """(N, R, channels) view: the rolling buffer's content at every step, start rule applied."""
    padded = pad_start(x.astype(np.float32), receptive_field)
    return sliding_window_view(padded, receptive_field, axis=0).transpose(0, 2, 1)


def parity(opts: ParityOptions, console: Console | None = None) -> dict:
    console = console or Console()
    if opts.engine not in ENGINES:
        raise UserError(f"--engine must be one of {', '.join(ENGINES)}, not {opts.engine!r}")
    run = Run(opts.run)
    export_dir = check_run_has_export(run.folder)
    data = _matching_data(run, opts)
    report_dir = opts.out or run.folder
    if opts.engine == "step":
        check_export_has_step_models(export_dir)
        steps = _collect_step(run, data, _step_backends(run, export_dir), console)
    else:
        steps = _collect(run, data, _backends(run, export_dir), opts.tflm_steps, console)
    report = _report(run, data, steps, opts)
    report_dir.mkdir(parents=True, exist_ok=True)
    write_json(report_dir / PARITY_JSON, report)
    plots.parity_report(report, steps["true"], steps["pred"], run.classes, report_dir / PARITY_PNG,
                        run.sample_rate_hz)
    _print_table(console, report, report_dir)
    _gate(report)
    return report


def _matching_data(run: Run, opts: ParityOptions) -> Dataset:
    data = load_data(opts.data)
    if opts.subjects:
        data = data.select(opts.subjects)
    unknown = [c for c in data.classes if c not in run.classes]
    if unknown:
        raise DataError(f"the data has class(es) {unknown} that the model does not know ({run.classes})")
    channels = run.model.config.in_channels
    if data.recordings[0].x.shape[1] != channels:
        raise DataError(f"the data has {data.recordings[0].x.shape[1]} channels; the model takes {channels}")
    remap = np.array([run.classes.index(c) for c in data.classes])
    for rec in data.recordings:
        rec.y = np.where(rec.y == UNLABELED, UNLABELED, remap[np.maximum(rec.y, 0)])
    data.classes = list(run.classes)
    return data


def _backends(run: Run, export_dir: Path) -> dict:
    exported = {name: window_backend(name, export_dir) for name in ("onnx_fp32", *INT8_BACKENDS)}
    return {REFERENCE: TorchBackend(folded_window_model(run.model)), **exported}


def _collect(run: Run, data: Dataset, backends: dict, tflm_steps: int, console: Console) -> dict:
    """Predicted classes of every backend at every step (TFLite-Micro on a spread sample)."""
    r = run.receptive_field
    total = sum(len(rec) for rec in data.recordings)
    sample = set(np.linspace(0, total - 1, num=min(tflm_steps, total)).astype(int).tolist())
    pred = {name: [] for name in backends}
    true, tflm_index, offset = [], [], 0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("backends x recordings", total=len(data.recordings) * len(backends))
        for rec in data.recordings:
            windows = rolling_windows(rec.x, r)
            local = np.array(sorted(i - offset for i in sample if offset <= i < offset + len(rec)), dtype=int)
            for name, backend in backends.items():
                chosen = windows[local] if name == "tflm_int8" else windows
                pred[name].append(backend.predict(np.ascontiguousarray(chosen)).argmax(axis=1))
                progress.advance(task)
            true.append(rec.y)
            tflm_index.append(local + offset)
            offset += len(rec)
    return {"true": np.concatenate(true), "tflm_index": np.concatenate(tflm_index),
            "pred": {name: np.concatenate(p) for name, p in pred.items()}}


def _step_backends(run: Run, export_dir: Path) -> dict:
    return {name: step_backend(name, export_dir, run.receptive_field) for name in ("onnx_fp32", *INT8_BACKENDS)}


def _collect_step(run: Run, data: Dataset, backends: dict, console: Console) -> dict:
    """Every step model streamed through every whole recording, against the fp32 reference."""
    pred = {name: [] for name in (REFERENCE, *backends)}
    true, largest_difference = [], 0.0
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("step models x recordings", total=len(data.recordings) * len(backends))
        for rec in data.recordings:
            reference = predict_logits(run.model, rec.x.astype(np.float32))
            pred[REFERENCE].append(reference.argmax(axis=1))
            for name, backend in backends.items():
                logits = backend.run(rec.x.astype(np.float32))
                pred[name].append(logits.argmax(axis=1))
                if name == "onnx_fp32":
                    largest_difference = max(largest_difference, float(np.abs(logits - reference).max()))
                progress.advance(task)
            true.append(rec.y)
    true = np.concatenate(true)
    return {"true": true, "tflm_index": np.arange(len(true)), "fp32_step_max_abs_logit_difference": largest_difference,
            "pred": {name: np.concatenate(p) for name, p in pred.items()}}


def _report(run: Run, data: Dataset, steps: dict, opts: ParityOptions) -> dict:
    true, pred, sampled = steps["true"], steps["pred"], steps["tflm_index"]
    reference = pred[REFERENCE]
    backends = {}
    for name, classes in pred.items():
        on_sample = name == "tflm_int8"
        truth, ref = (true[sampled], reference[sampled]) if on_sample else (true, reference)
        confusion = confusion_matrix(truth, classes, len(run.classes))
        summary = summarize(confusion, run.classes)
        entry = {**summary, "confusion": confusion.tolist(),
                 "steps_evaluated": len(classes)}
        if name != REFERENCE:
            ref_summary = summarize(confusion_matrix(truth, ref, len(run.classes)), run.classes)
            entry["agreement_with_fp32"] = agreement(classes, ref)
            entry["accuracy_drop_vs_fp32"] = ref_summary["accuracy"] - summary["accuracy"]
        backends[name] = entry
    if opts.engine == "step":
        backends["onnx_fp32"]["max_abs_logit_difference_vs_fp32"] = steps["fp32_step_max_abs_logit_difference"]
    engine = ("step model: one new column per layer per sample, state kept" if opts.engine == "step"
              else "rolling buffer of the last R samples")
    return {
        "run": str(run.folder), "data": data.source, "synthetic_data": data.synthetic,
        "subjects": data.subjects, "steps": int(len(true)), "labelled_steps": int((true != UNLABELED).sum()),
        "receptive_field": run.receptive_field, "classes": run.classes,
        "tflm_steps": int(len(sampled)), "engine": engine,
        "thresholds": {"min_agreement": opts.min_agreement, "max_drop": opts.max_drop},
        "backends": backends,
    }


def _print_table(console: Console, report: dict, folder: Path) -> None:
    tag = " (SYNTHETIC data)" if report["synthetic_data"] else ""
    table = Table(title=f"Per-step parity on {report['steps']} steps of {', '.join(report['subjects'])}{tag}")
    for column in ("backend", "steps", "accuracy", "macro-F1", "agreement with fp32", "accuracy vs fp32"):
        table.add_column(column, justify="right" if column != "backend" else "left")
    for name, entry in report["backends"].items():
        table.add_row(name, str(entry["steps_evaluated"]), f"{entry['accuracy']:.4f}", f"{entry['macro_f1']:.4f}",
                      f"{entry['agreement_with_fp32']:.4f}" if "agreement_with_fp32" in entry else "reference",
                      f"{-entry['accuracy_drop_vs_fp32'] * 100:+.2f} pts" if "accuracy_drop_vs_fp32" in entry else "")
    console.print(table)
    difference = report["backends"]["onnx_fp32"].get("max_abs_logit_difference_vs_fp32")
    if difference is not None:
        console.print(f"Step engine: fp32 step model within {difference:.1e} of the fp32 reference's logits on "
                      "every step; TFLite-Micro ran on every step.")
    else:
        console.print(f"TFLite-Micro ran on {report['tflm_steps']} evenly spread steps.")
    console.print(f"Written: {folder / PARITY_JSON}, {folder / PARITY_PNG}")


def _gate(report: dict) -> None:
    limits = report["thresholds"]
    failures = []
    for name in INT8_BACKENDS:
        entry = report["backends"][name]
        if entry["agreement_with_fp32"] < limits["min_agreement"]:
            failures.append(f"{name} agreement {entry['agreement_with_fp32']:.4f} < {limits['min_agreement']}")
        if entry["accuracy_drop_vs_fp32"] > limits["max_drop"]:
            failures.append(f"{name} accuracy drop {entry['accuracy_drop_vs_fp32'] * 100:.2f} points "
                            f"> {limits['max_drop'] * 100:.2f}")
    if failures:
        raise GateFailure("; ".join(failures))
