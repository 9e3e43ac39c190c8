"""`edge-har export --int8` on a small trained run: every file loads and runs in its real runtime."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import pytest

from edge_har.data.calibration import load_windows
from edge_har.export.exporter import ExportOptions, export
from edge_har.export.qat import QatConfig
from edge_har.model.folding import folded_window_model
from edge_har.model.run_folder import Run
from edge_har.model.torch_backends import TorchBackend
from edge_har.runtime.backends import LiteRTBackend, OnnxBackend, TflmBackend

from .conftest import run_copy
from .test_cli import edge_har


def _readings(run: Path) -> int:
    """What the run's model reads per sample: the axes and, by default, their memory (six)."""
    return Run(run).model.config.input_channels

def _report(run: Path) -> dict:
    return json.loads((run / "export" / "export.json").read_text())


def test_fp32_onnx_is_static_checked_and_matches_pytorch(exported):
    path = exported / "export" / "model_fp32.onnx"
    proto = onnx.load(str(path))
    onnx.checker.check_model(proto)
    ops = {node.op_type for node in proto.graph.node}
    assert "Pad" not in ops and "ConstantOfShape" not in ops and "BatchNormalization" not in ops
    meta = {p.key: p.value for p in proto.metadata_props}
    assert json.loads(meta["classes"]) == Run(exported).classes
    assert int(meta["receptive_field"]) == 121 and json.loads(meta["sample_rate_hz"]) == 50.0
    holdout = load_windows(exported / "holdout.npz", 121, _readings(exported))
    onnx_logits = OnnxBackend(path, "onnx_fp32").predict(holdout.windows)
    torch_logits = TorchBackend(folded_window_model(Run(exported).model)).predict(holdout.windows)
    assert onnx_logits.shape == (len(holdout.windows), 5)
    assert np.abs(onnx_logits - torch_logits).max() <= 1e-4


def test_int8_onnx_is_qdq_and_close_to_fp32(exported):
    path = exported / "export" / "model_int8.onnx"
    ops = {node.op_type for node in onnx.load(str(path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    holdout = load_windows(exported / "holdout.npz", 121, _readings(exported))
    fp32 = OnnxBackend(exported / "export" / "model_fp32.onnx", "fp32").predict(holdout.windows)
    int8 = OnnxBackend(path, "int8").predict(holdout.windows)
    assert (int8.argmax(1) == fp32.argmax(1)).mean() >= 0.95


def test_tflite_is_full_integer_small_and_runs_on_tflite_micro(exported):
    folder = exported / "export"
    report = _report(exported)
    tflite = report["tflite_int8"]
    assert tflite["input_dtype"] == "int8" and tflite["output_dtype"] == "int8"
    assert tflite["input_shape"] == [1, 121, 6] and tflite["output_shape"] == [1, 5]  # the axes and their memory
    assert "DEQUANTIZE" not in tflite["ops"]  # no float islands inside the graph
    sizes = report["file_bytes"]
    assert sizes["model_int8.tflite"] * 3 <= sizes["model_fp32.onnx"]
    arena = tflite["tflm_arena_bytes"]
    assert 1024 < arena <= 32 * 1024
    holdout = load_windows(exported / "holdout.npz", 121, _readings(exported))
    litert = LiteRTBackend(folder / "model_int8.tflite").predict(holdout.windows[:100])
    micro = TflmBackend(folder / "model_int8.tflite", arena).predict(holdout.windows[:100])
    assert litert.shape == micro.shape == (100, 5)
    assert (litert.argmax(1) == micro.argmax(1)).mean() >= 0.97
    header = (folder / "model_int8.h").read_text()
    assert f"g_edge_har_model_len = {sizes['model_int8.tflite']};" in header
    assert f"kEdgeHarArenaBytes = {arena + 1024};" in header
    assert (folder / "model_int8.cc").read_text().count("0x") == sizes["model_int8.tflite"]


def test_export_json_describes_the_model(exported):
    report = _report(exported)
    assert report["receptive_field"] == 121 and report["params"] == Run(exported).metrics.params
    assert report["macs_per_inference"] > report["macs_per_step_streaming"] > 0
    assert set(report["agreement_with_fp32"]) == {"onnx_int8", "tflite_int8", "tflm_int8"}
    assert all(0 <= v <= 1 for v in report["agreement_with_fp32"].values())
    assert report["gate"]["passed"] and report["gate"]["judged_on"]["validation_subjects"] == \
        Run(exported).metrics.final.validation_subjects
    decoding = report["decoding"]  # the decoder asked for, with the transitions the run learned
    saved = json.loads((exported / "decoding.json").read_text())
    assert decoding["method"] == "forward" and decoding["transitions"] == saved["transitions"]
    assert decoding["from_labels_of"] == Run(exported).metrics.subjects[:-1]  # never the validation person
    assert np.allclose(np.sum(decoding["transitions"]["matrix"], axis=1), 1.0)


@pytest.mark.parametrize("activations, tried", [
    ("int8", ["int8"]),
    pytest.param("auto", ["int8", "int16"], marks=pytest.mark.slow),  # two full exports: int8, then int16
])
def test_gate_fails_on_a_bad_calibration_with_exit_1_and_keeps_the_files(exported, tmp_path, activations, tried):
    holdout = load_windows(exported / "holdout.npz", 121, _readings(exported))
    narrow = tmp_path / "narrow.npz"  # ranges from near-silence: every real window saturates
    np.savez(narrow, windows=holdout.windows[:64] * 0.02)
    copy = run_copy(exported, tmp_path / "run")
    # 60 windows: a coarse gate fails as well, in a third of the time; the engine's cost is not judged
    result = edge_har("export", str(copy), "--int8", "--activations", activations, "--calibration", str(narrow),
                      "--check-windows", "60", "--cores", "none")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "below --min-agreement 0.99" in result.stderr
    validation = Run(exported).metrics.final.validation_subjects
    assert f"on {', '.join(validation)} (never trained on)" in " ".join(result.stderr.split())
    assert "Tried: post-training" in " ".join(result.stderr.split())
    assert (copy / "export" / "model_int8.tflite").exists()
    report = _report(copy)
    assert [t["activations"] for t in report["quantization"]["tried"]] == tried
    assert min(report["agreement_with_fp32"].values()) < 0.99
    assert report["gate"]["passed"] is False and report["gate"]["judged_on"]["validation_subjects"] == validation
    assert set(report["gate"]["below"]) <= {*report["agreement_with_fp32"], *(f"step {k}" for k in
                                                                             report["step"]["agreement_with_fp32"])}


@pytest.mark.slow  # a full export; the default (int16) export also runs in test_adapt's gate check
def test_int16_activations_make_16x8_models_that_every_runtime_runs(exported, tmp_path):
    copy = run_copy(exported, tmp_path / "run")
    export(ExportOptions(copy, activations="int16", min_agreement=0.0))
    report, folder = _report(copy), copy / "export"
    assert report["quantization"]["activations"] == "int16" and len(report["quantization"]["tried"]) == 1
    for tflite in (report["tflite_int8"], report["step"]["tflite_int8"]):
        assert tflite["input_dtype"] == "int16" and tflite["output_dtype"] == "int16"
        assert "DEQUANTIZE" not in tflite["ops"]
    assert all(state["dtype"] == "int16" for state in report["step"]["tflite_int8"]["inputs"])
    assert "CONCATENATION" not in report["step"]["tflite_int8"]["ops"]  # joined by PAD and ADD instead
    assert "kEdgeHarActivationBits = 16" in (folder / "model_int8.h").read_text()
    assert "kEdgeHarStepActivationBits = 16" in (folder / "step_int8.h").read_text()
    holdout = load_windows(copy / "holdout.npz", 121, _readings(copy))
    fp32 = OnnxBackend(folder / "model_fp32.onnx", "fp32").predict(holdout.windows)
    litert = LiteRTBackend(folder / "model_int8.tflite").predict(holdout.windows)
    tflm = TflmBackend(folder / "model_int8.tflite", report["tflite_int8"]["tflm_arena_bytes"]).predict(holdout.windows[:50])
    with_int8 = LiteRTBackend(exported / "export" / "model_int8.tflite").predict(holdout.windows)
    # the weights are int8 in both, so what is left is their rounding: well under int8 activations' error
    assert np.abs(litert - fp32).mean() < 0.5 * np.abs(with_int8 - fp32).mean()
    assert np.abs(tflm - litert[:50]).max() <= 2 * report["tflite_int8"]["output_scale"]  # same kernels' arithmetic
    assert min(report["agreement_with_fp32"].values()) >= 0.99
    assert min(report["step"]["agreement_with_fp32"].values()) >= 0.99


@pytest.mark.slow  # a minute or two of fine-tuning and a full export; QAT is not on any default path
def test_qat_fine_tunes_the_weights_the_int8_models_are_made_from(exported, tmp_path):
    copy = run_copy(exported, tmp_path / "run")
    export(ExportOptions(copy, activations="int8", qat=QatConfig(steps=100), min_agreement=0.0))  # short: it runs
    report, folder = _report(copy), copy / "export"
    assert report["quantization"]["qat"] is True and report["quantization"]["tried"][0]["qat"] is True
    assert report["quantization"]["qat_config"]["steps"] == 100  # the settings it ran with, saved beside the models
    assert "from quantization-aware weights" in report["gate"]["quantization"]
    for name in ("model_int8.tflite", "step_int8.tflite", "model_int8.onnx", "step_int8.onnx"):
        assert (folder / name).read_bytes() != (exported / "export" / name).read_bytes(), name
    assert not [p.name for p in folder.iterdir() if p.name.startswith(".")]  # transient sources removed
    holdout = load_windows(copy / "holdout.npz", 121, _readings(copy))
    fp32 = OnnxBackend(folder / "model_fp32.onnx", "fp32").predict(holdout.windows)
    run_fp32 = OnnxBackend(exported / "export" / "model_fp32.onnx", "fp32").predict(holdout.windows)
    assert np.abs(fp32 - run_fp32).max() <= 1e-5  # fp32 stays the run's model: the reference is unchanged
    assert min(report["agreement_with_fp32"].values()) >= 0.95  # distilled from fp32: close to its classes
    assert min(report["step"]["agreement_with_fp32"].values()) >= 0.95


def test_qat_with_int16_activations_is_refused(exported):
    result = edge_har("export", str(exported), "--int8", "--qat", "--activations", "int16")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--qat simulates int8 activations" in " ".join(result.stderr.split())


def test_unknown_activations_are_refused(exported):
    result = edge_har("export", str(exported), "--int8", "--activations", "int4")
    assert result.returncode == 2 and "--activations must be one of auto, int8, int16" in result.stderr


@pytest.mark.parametrize("make, message", [
    (lambda run, tmp: (tmp / "missing-run", None), "not a training run"),
    (lambda run, tmp: (run, tmp / "none.npz"), "no such calibration file"),
    (lambda run, tmp: (run, _npz(tmp / "shape.npz", np.zeros((64, 50, 6)))), "needs (N, 121, 6)"),
    (lambda run, tmp: (run, _npz(tmp / "nan.npz", np.full((64, 121, 6), np.nan))), "non-finite value"),
    (lambda run, tmp: (run, _npz(tmp / "few.npz", np.zeros((3, 121, 6)))), "too few"),
])
def test_bad_input_is_refused(exported, tmp_path, make, message):
    run, calibration = make(exported, tmp_path)
    args = ["export", str(run), "--int8", "--force"] + (["--calibration", str(calibration)] if calibration else [])
    result = edge_har(*args)
    assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr


def _npz(path: Path, windows: np.ndarray) -> Path:
    np.savez(path, windows=windows.astype(np.float32))
    return path


def test_calibrate_command_makes_a_usable_set(exported, tmp_path):
    out = tmp_path / "cal.npz"
    result = edge_har("calibrate", str(exported), "--out", str(out), "--per-class", "8")
    assert result.returncode == 0, result.stderr
    windows = load_windows(out, 121, 6)
    assert windows.windows.shape == (40, 121, 6) and sorted(set(windows.labels)) == [0, 1, 2, 3, 4]


@pytest.mark.slow  # a second model trained and exported; --magnitude is not the default
def test_tflite_takes_the_magnitude_channel_that_firmware_appends(exported_with_magnitude):
    folder = exported_with_magnitude / "export"
    report = json.loads((folder / "export.json").read_text())
    assert report["tflite_input_channels"] == ["x", "y", "z", "|a|"]
    assert report["tflite_int8"]["input_shape"][-1] == report["step"]["tflite_int8"]["input_shape"][-1] == 4
    assert "append |a| = sqrt(x*x + y*y + z*z)" in (folder / "model_int8.h").read_text()
    io = LiteRTBackend(folder / "model_int8.tflite").io
    samples = np.random.default_rng(0).normal(scale=30.0, size=(200, 3)).astype(np.float32)
    one_by_one = np.array([io.quantize_sample(s) for s in samples])
    assert np.array_equal(one_by_one, io.quantize(samples[None])[0])


@pytest.mark.slow  # the same model as above
def test_a_magnitude_model_streams_through_every_int8_step_model(exported_with_magnitude):
    from edge_har.eval.parity import ParityOptions, parity
    from edge_har.model.torch_backends import pytorch_reference

    report = parity(ParityOptions(exported_with_magnitude, reference=pytorch_reference,
                                  subjects=["sim6"], engine="step", min_agreement=0,
                                  max_drop=1, out=exported_with_magnitude / "parity-step"))
    assert report["backends"]["onnx_fp32"]["max_abs_logit_difference_vs_fp32"] <= 1e-4
    for name in ("onnx_int8", "litert_int8", "tflm_int8"):
        assert report["backends"][name]["agreement_with_fp32"] >= 0.97
