"""int8, int8 after quantization-aware fine-tuning, and int16 activations (16x8), on runs'
held-out validation windows, in one command:

    .venv/bin/python tools/quant_table.py RUN [RUN ...] [--out DIR] [--paths int8,int8-qat,int16]

Each run is exported once per path into DIR/RUN-NAME/PATH (copies; the run's own export is left
alone): post-training quantization with int8 activations (ranges: min-max for ONNX, litert-torch's
histogram for TFLite); the same from quantization-aware fine-tuned weights (`export --qat`); and
int16 activations with int8 weights. It prints, per run and path,
export's own agreement with fp32 (window and step models, ONNX Runtime, LiteRT and TFLite-Micro),
fp32 accuracy and the int8 models' accuracy change on the same windows, the TFLite-Micro arenas,
the step model's size, and the time per step of the LiteRT and TFLite-Micro step models (one
sample in, measured here, both paths in the same run). A third row per run quantizes the ONNX
window model with another range estimator (percentile 99.999) to show what calibration changes.
"""

from __future__ import annotations

import argparse
import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from rich.console import Console

from edge_har.core.export_report import ExportReport
from edge_har.core.reports import read_report
from edge_har.data.calibration import load_windows
from edge_har.export.exporter import ExportOptions, export
from edge_har.export.qat import QatConfig
from edge_har.export.quantize import quantize_onnx
from edge_har.export.step_models import last_step_logits, onnx_last_step_logits
from edge_har.model.run_folder import CALIBRATION_FILE, DECODING_FILE, HOLDOUT_FILE, Run
from edge_har.runtime.backends import LiteRTBackend, LiteRTStepBackend, OnnxBackend, TflmStepBackend

RUN_FILES = ("model.pt", "config.json", "metrics.json", CALIBRATION_FILE, HOLDOUT_FILE, DECODING_FILE)
PATHS = {"int8": ExportOptions(Path(), activations="int8", min_agreement=0.0),
         "int8-qat": ExportOptions(Path(), activations="int8", qat=QatConfig(), min_agreement=0.0),
         "int16": ExportOptions(Path(), activations="int16", min_agreement=0.0)}
TIMED_STEPS = {"litert": 2000, "tflm": 500}


def exported_copy(run: Path, folder: Path, path: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        shutil.copy(run / name, folder / name)
    export(replace(PATHS[path], run=folder), Console(quiet=True))
    return folder / "export"


def accuracies(folder: Path, windows: np.ndarray, labels: np.ndarray, r: int) -> dict:
    fp32 = OnnxBackend(folder / "model_fp32.onnx", "fp32").predict(windows).argmax(1)
    onnx = OnnxBackend(folder / "model_int8.onnx", "int8").predict(windows).argmax(1)
    litert = LiteRTBackend(folder / "model_int8.tflite").predict(windows).argmax(1)
    step = last_step_logits(LiteRTStepBackend(folder / "step_int8.tflite", r), windows).argmax(1)
    step_onnx = onnx_last_step_logits(folder / "step_int8.onnx", windows, r).argmax(1)
    scored = labels >= 0
    return {name: float((classes == labels)[scored].mean()) for name, classes in
            {"fp32": fp32, "onnx": onnx, "litert": litert, "step_litert": step, "step_onnx": step_onnx}.items()}


def per_step_us(folder: Path, report: ExportReport, windows: np.ndarray, r: int) -> dict:
    samples = windows.reshape(-1, windows.shape[-1])
    litert = LiteRTStepBackend(folder / "step_int8.tflite", r)
    tflm = TflmStepBackend(folder / "step_int8.tflite", _step(report).tflite_int8.tflm_arena_bytes, r)
    timings = {}
    for name, backend in (("litert", litert), ("tflm", tflm)):
        chosen = samples[:TIMED_STEPS[name]]
        backend.reset(chosen[0])
        started = time.perf_counter()
        for sample in chosen:
            backend.step(sample)
        timings[name] = (time.perf_counter() - started) / len(chosen) * 1e6
    return timings


def percentile_onnx_agreement(run: Path, folder: Path, windows: np.ndarray, r: int) -> float:
    from onnxruntime.quantization import CalibrationMethod

    calibration = load_windows(run / CALIBRATION_FILE, r, Run(run).model.config.input_channels).windows
    out = folder / "model_int8_percentile.onnx"
    quantize_onnx(folder / "model_fp32.onnx", out, [(w[None],) for w in calibration],
                  calibrate_method=CalibrationMethod.Percentile, extra_options={"CalibPercentile": 99.999})
    fp32 = OnnxBackend(folder / "model_fp32.onnx", "fp32").predict(windows).argmax(1)
    return float((OnnxBackend(out, "int8").predict(windows).argmax(1) == fp32).mean())


def _step(report: ExportReport):
    if report.step is None or report.step.tflite_int8 is None or report.tflite_int8 is None:
        raise SystemExit("an export without its int8 models")
    return report.step


def row(name: str, path: str, report: ExportReport, acc: dict, timing: dict) -> str:
    window, step = report.agreement_with_fp32 or {}, _step(report).agreement_with_fp32 or {}

    def change(key: str) -> str:
        return f"{100 * (acc[key] - acc['fp32']):+.2f}"

    return (f"| {name} | {path} | {window['onnx_int8']:.4f} / {window['tflite_int8']:.4f} / "
            f"{window['tflm_int8']:.4f} | {step['onnx_int8']:.4f} / {step['tflite_int8']:.4f} / {step['tflm_int8']:.4f} "
            f"| {acc['fp32']:.4f} | {change('onnx')} / {change('litert')} | {change('step_onnx')} / "
            f"{change('step_litert')} | {report.tflite_int8.tflm_arena_bytes if report.tflite_int8 else 0:,} / "
            f"{_step(report).tflite_int8.tflm_arena_bytes:,} | {report.file_bytes['step_int8.tflite']:,} | "
            f"{timing['litert']:.0f} / {timing['tflm']:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", type=Path, nargs="+", help="training runs (each with holdout.npz)")
    parser.add_argument("--out", type=Path, default=Path("runs/quant-table"), help="where the exported copies go")
    parser.add_argument("--paths", default=",".join(PATHS), help=f"comma-separated, of {', '.join(PATHS)}")
    args = parser.parse_args()
    paths = args.paths.split(",")
    if unknown := set(paths) - set(PATHS):
        parser.error(f"unknown path(s) {', '.join(sorted(unknown))}: choose from {', '.join(PATHS)}")
    print("| run | path | window agreement ONNX / LiteRT / TFLM | step agreement ONNX / LiteRT / TFLM "
          "| fp32 accuracy | window accuracy change, points (ONNX / LiteRT) | step accuracy change (ONNX / LiteRT) "
          "| TFLM arena window / step, bytes | step .tflite bytes | µs per step LiteRT / TFLM |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for run in args.runs:
        r = Run(run).receptive_field
        holdout = load_windows(run / HOLDOUT_FILE, r, Run(run).model.config.input_channels)
        for path in paths:
            folder = exported_copy(run, args.out / run.name / path, path)
            report = read_report(folder / "export.json", ExportReport, "export it again")
            print(row(run.name, path, report, accuracies(folder, holdout.windows, holdout.labels, r),
                      per_step_us(folder, report, holdout.windows[:50], r)), flush=True)
            if path == "int8":
                percentile = percentile_onnx_agreement(run, folder, holdout.windows, r)
                print(f"| {run.name} | int8, ONNX percentile 99.999 ranges | {percentile:.4f} (ONNX window) "
                      "| | | | | | | |", flush=True)


if __name__ == "__main__":
    main()
