"""`train --delay`: a model that names the step D back from the newest sample, and every engine,
parity and stream holding it to that step."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
from rich.console import Console

from edge_har.core.config import ModelConfig, TrainConfig
from edge_har.core.labels import UNLABELED, delayed_labels
from edge_har.data.dataset import with_label_delay
from edge_har.data.loading import load_data
from edge_har.device.emulator import EmulatorOptions
from edge_har.eval.parity import ParityOptions, parity
from edge_har.export.exporter import ExportOptions, export
from edge_har.model.torch_backends import pytorch_reference
from edge_har.runtime.stream import StreamOptions, stream
from edge_har.train.train_command import TrainOptions, train

from .conftest import emulator_done, play
from .test_cli import TINY, edge_har

QUIET = Console(quiet=True)
RATE_HZ, DELAY_S = 50.0, 0.5
DELAY_STEPS = int(RATE_HZ * DELAY_S)


def test_a_delayed_label_is_the_label_d_steps_back():
    y = np.array([0, 0, 1, 1, UNLABELED, 2])
    assert delayed_labels(y, 2).tolist() == [UNLABELED, UNLABELED, 0, 0, 1, 1]
    assert delayed_labels(y, 0) is y
    assert delayed_labels(y, 9).tolist() == [UNLABELED] * 6
    data = load_data(None, RATE_HZ)
    delayed = with_label_delay(data, 3)
    for before, after in zip(data.recordings, delayed.recordings):
        assert np.array_equal(after.y[3:], before.y[:-3]) and np.array_equal(after.x, before.x)


@pytest.fixture(scope="module")
def delayed_run(tmp_path_factory):
    """A briefly trained default-shape model with a half-second label delay, exported with --int8."""
    folder = tmp_path_factory.mktemp("delay") / "run"
    train(TrainOptions(out=folder, sample_rate_hz=RATE_HZ, delay_s=DELAY_S, model=ModelConfig(0),
                       train=TrainConfig(epochs=2, steps_per_epoch=10, batch_size=16, wear="rolled", val_subjects=1)), QUIET)
    export(ExportOptions(folder, int8=True, min_agreement=0.0, activations="int8", decode="none",
                         check_windows=100, cores=()), QUIET)
    return folder


def test_the_delay_travels_with_the_run_and_the_export(delayed_run):
    config = json.loads((delayed_run / "config.json").read_text())
    assert config["model"]["delay_steps"] == DELAY_STEPS
    assert json.loads((delayed_run / "export" / "export.json").read_text())["label_delay_steps"] == DELAY_STEPS
    assert f"#define EDGE_HAR_ENGINE_LABEL_DELAY {DELAY_STEPS}\n" in (delayed_run / "export" / "step_engine.h").read_text()


def test_parity_and_stream_hold_the_model_to_the_step_it_names(delayed_run, tmp_path):
    data = load_data(None, RATE_HZ).select(["sim6"])
    offline = parity(ParityOptions(delayed_run, reference=pytorch_reference, subjects=["sim6"], engine="step",
                                   sample_rate_hz=RATE_HZ, min_agreement=0, max_drop=1, out=tmp_path))
    assert offline["label_delay_steps"] == DELAY_STEPS
    named = sum(int((delayed_labels(r.y, DELAY_STEPS) != UNLABELED).sum()) for r in data.recordings)
    assert offline["labelled_steps"] == named < data.labelled_steps()

    link, log = tmp_path / "tty", tmp_path / "steps.csv"
    thread, result = play(EmulatorOptions(data, link, fmt="text", speed=0), link)
    summary = stream(StreamOptions(str(link), delayed_run, engine="step", duration=120, live=False, log=log,
                                   summary=tmp_path / "summary.json"), QUIET, stop=emulator_done(result))
    thread.join(5)
    assert summary["label_delay_steps"] == DELAY_STEPS and summary["labelled"] == named
    assert summary["int8_accuracy"] == pytest.approx(offline["backends"]["litert_int8"]["accuracy"], abs=1e-12)
    assert summary["fp32_accuracy"] == pytest.approx(offline["backends"]["onnx_fp32"]["accuracy"], abs=1e-12)
    rows = list(csv.DictReader(log.open()))
    classes, y = offline["classes"], data.recordings[0].y
    for row in rows[:DELAY_STEPS]:
        assert row["names_step"] == "" and row["true"] == ""
    for row in rows[DELAY_STEPS:]:
        step = int(row["step"])
        assert int(row["names_step"]) == step - DELAY_STEPS
        label = y[step - DELAY_STEPS]
        assert row["true"] == ("" if label == UNLABELED else str(classes.index(data.classes[label])))


def test_a_delay_needs_a_rate(tmp_path, humanactivity_train):
    result = edge_har("train", "--data", str(humanactivity_train), "--out", str(tmp_path / "run"), "--delay", "1", *TINY)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--sample-rate" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_delay_beyond_the_receptive_field_is_refused(tmp_path):
    result = edge_har("train", "--out", str(tmp_path / "run"), "--delay", "3", *TINY)  # R = 121 at 50 Hz: 2.4 s
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "--delay 2.4 or less" in result.stderr and len(result.stderr.strip().splitlines()) == 1
