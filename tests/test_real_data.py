"""Acceptance checks on real recordings: long trainings, run on request (`make test-slow`)."""

from __future__ import annotations

import json

import pytest

from edge_har.train.train_command import TrainOptions, train

pytestmark = pytest.mark.slow


def test_humanactivity_loso_accuracy(humanactivity_train, tmp_path):
    out = train(TrainOptions(data=str(humanactivity_train), out=tmp_path / "run", cv="loso"))
    cv = json.loads((out / "metrics.json").read_text())["cv"]
    assert len(cv["folds"]) == 6
    assert cv["mean_accuracy"] >= 0.95
    assert min(f["accuracy"] for f in cv["folds"]) >= 0.90


def test_int8_parity_on_a_held_out_person(humanactivity_train, tmp_path):
    from edge_har.eval.parity import ParityOptions, parity
    from edge_har.export.exporter import ExportOptions, export
    from edge_har.model.torch_backends import pytorch_reference

    others = [f"person{i}" for i in range(2, 7)]
    out = train(TrainOptions(data=str(humanactivity_train), out=tmp_path / "run", subjects=others))
    report = json.loads((export(ExportOptions(out)) / "export.json").read_text())
    assert report["file_bytes"]["model_int8.tflite"] * 3 <= report["file_bytes"]["model_fp32.onnx"]
    assert report["tflite_int8"]["tflm_arena_bytes"] <= 32 * 1024
    for engine in ("rolling", "step"):
        result = parity(ParityOptions(out, reference=pytorch_reference,
                                      data=str(humanactivity_train), subjects=["person1"], engine=engine,
                                      out=tmp_path / engine))
        for name in ("onnx_int8", "litert_int8", "tflm_int8"):
            assert result["backends"][name]["agreement_with_fp32"] >= 0.995
            assert result["backends"][name]["accuracy_drop_vs_fp32"] <= 0.003
    assert result["backends"]["onnx_fp32"]["max_abs_logit_difference_vs_fp32"] <= 1e-4  # whole recording, step
