"""`edge-har parity`: every backend on the same steps, run the way `stream` runs them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from edge_har.core.config import ModelConfig
from edge_har.eval.parity import ParityOptions, parity, rolling_windows
from edge_har.export.exporter import ExportOptions, export
from edge_har.model.folding import folded_window_model
from edge_har.model.tcn import TCN, predict_logits
from edge_har.model.torch_backends import TorchBackend, pytorch_reference

from .conftest import CHECK_WINDOWS, label_delay, run_copy, write_csv
from .test_cli import edge_har


def test_rolling_buffer_equals_one_full_sequence_pass():
    torch_seed = np.random.default_rng(4)
    model = TCN(ModelConfig(num_classes=5, filters=16), mean=np.array([0.2, 0.1, -0.3]), std=np.array([1.5, 2.0, 0.7]))
    model.eval()
    x = torch_seed.normal(size=(700, 3)).astype(np.float32)
    full = predict_logits(model, x)
    rolling = TorchBackend(folded_window_model(model)).predict(np.ascontiguousarray(rolling_windows(x, 121)))
    assert rolling.shape == full.shape == (700, 5)
    assert np.abs(rolling - full).max() <= 1e-4


def test_parity_report_on_a_held_out_subject(exported, tmp_path):
    report = parity(ParityOptions(exported, reference=pytorch_reference,
                                  subjects=["sim6"], tflm_steps=300, min_agreement=0.0, max_drop=1.0,
                                  out=tmp_path))
    written = json.loads((tmp_path / "parity.json").read_text())
    assert written["backends"].keys() == report["backends"].keys() == {
        "pytorch_fp32", "onnx_fp32", "onnx_int8", "litert_int8", "tflm_int8"}
    steps = written["steps"]
    delay = label_delay(exported)  # the default names the step a second back: the last second is never named
    assert written["subjects"] == ["sim6"] and steps - delay == written["labelled_steps"] > 10000
    assert written["backends"]["tflm_int8"]["steps_evaluated"] == written["tflm_steps"] == 300
    assert written["backends"]["onnx_fp32"]["agreement_with_fp32"] == pytest.approx(1.0, abs=1e-3)
    for entry in written["backends"].values():
        assert 0 <= entry["accuracy"] <= 1
        assert np.array(entry["confusion"]).sum() == entry["steps"]
    assert written["backends"]["pytorch_fp32"]["steps"] == written["labelled_steps"]
    assert (tmp_path / "parity.png").read_bytes()[:4] == b"\x89PNG"
    assert written["decoding"] == "forward"  # as exported: every contiguous backend decoded too
    decoded = {name: entry["decoded"] for name, entry in written["backends"].items() if "decoded" in entry}
    assert decoded.keys() == {"pytorch_fp32", "onnx_fp32", "onnx_int8", "litert_int8"}  # TFLM: a spread sample
    assert decoded["pytorch_fp32"]["agreement_with_fp32"] == 1.0
    assert all(0 <= d["accuracy"] <= 1 and 0 <= d["agreement_with_fp32"] <= 1 for d in decoded.values())


def test_an_export_without_decoding_is_judged_on_raw_classes_only(exported, tmp_path):
    copy = run_copy(exported, tmp_path / "run")
    export(ExportOptions(copy, int8=False, decode="none", check_windows=CHECK_WINDOWS))
    assert json.loads((copy / "export" / "export.json").read_text())["decoding"] == {"method": "none"}
    shutil.rmtree(copy / "export")  # the int8 export again, as `export --int8 --decode none` writes it
    shutil.copytree(exported / "export", copy / "export")
    path = copy / "export" / "export.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "decoding": {"method": "none"}}))
    report = parity(ParityOptions(copy, reference=pytorch_reference,
                                  subjects=["sim6"], tflm_steps=50, min_agreement=0.0, max_drop=1.0,
                                  out=tmp_path))
    assert report["decoding"] == "none" and not [e for e in report["backends"].values() if "decoded" in e]


def test_gate_exit_code_follows_the_threshold(exported, tmp_path):
    result = edge_har("parity", str(exported), "--subjects", "sim6", "--tflm-steps", "100",
                      "--min-agreement", "1.0", "--out", str(tmp_path))
    backends = json.loads((tmp_path / "parity.json").read_text())["backends"]
    worst = min(backends[n]["agreement_with_fp32"] for n in ("onnx_int8", "litert_int8", "tflm_int8"))
    assert result.returncode == (0 if worst >= 1.0 else 1)
    if worst < 1.0:
        assert "agreement" in result.stderr


def test_run_without_export_is_refused(exported, tmp_path):
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "model.pt").write_bytes((exported / "model.pt").read_bytes())
    result = edge_har("parity", str(bare))
    assert result.returncode == 2 and "no export" in result.stderr


def test_data_with_unknown_classes_is_refused(exported, tmp_path):
    write_csv(tmp_path / "s1.csv", np.zeros((200, 3)), ["Flying"] * 200)
    result = edge_har("parity", str(exported), "--data", str(tmp_path))
    assert result.returncode == 2 and "does not know" in result.stderr and "Traceback" not in result.stderr
