"""Ordinary mistakes, made as a new user makes them, end in one line that names the file and the
fix, and a non-zero exit, never in a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge_har.data.loading import load_data

from .conftest import CHECK_WINDOWS, play, run_copy, write_csv
from .test_cli import TINY, _assert_clean_failure, edge_har


@pytest.fixture(scope="module")
def fp32_only(exported, tmp_path_factory) -> Path:
    run = run_copy(exported, tmp_path_factory.mktemp("fp32-only") / "run")
    result = edge_har("export", str(run), "--fp32-only", "--check-windows", str(CHECK_WINDOWS))
    assert result.returncode == 0, result.stderr
    return run


@pytest.mark.parametrize("command", [["parity"], ["parity", "--engine", "step"], ["stream", "--port", "/dev/null", "--model"]])
def test_an_export_without_int8_is_named_with_the_command_that_fixes_it(fp32_only, command):
    _assert_clean_failure(edge_har(*command, str(fp32_only)), f"edge-har export {fp32_only} --int8")


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04 only the start of a zip"])
def test_a_damaged_model_file_is_named(exported, tmp_path, content):
    run = run_copy(exported, tmp_path / "run")
    (run / "model.pt").write_bytes(content)
    result = edge_har("export", str(run), "--int8")
    _assert_clean_failure(result, f"{run / 'model.pt'}: not a readable edge-har model")


def test_a_truncated_model_file_is_named(exported, tmp_path):
    run = run_copy(exported, tmp_path / "run")
    whole = (run / "model.pt").read_bytes()
    (run / "model.pt").write_bytes(whole[:len(whole) // 2])
    _assert_clean_failure(edge_har("export", str(run)), "not a readable edge-har model")


def test_record_into_a_missing_folder_is_refused_before_the_port_is_opened(tmp_path):
    out = tmp_path / "nowhere" / "me.csv"
    result = edge_har("record", "--port", str(tmp_path / "no-port"), "--label", "Walking", "--out", str(out))
    _assert_clean_failure(result, "does not exist")


def test_train_refuses_an_existing_out_folder_before_training(tmp_path):
    (tmp_path / "run").mkdir()
    result = edge_har("train", "--out", str(tmp_path / "run"), *TINY)
    _assert_clean_failure(result, "already exists")
    assert "Data:" not in result.stdout  # refused before the data was even loaded


def test_train_refuses_an_out_folder_under_a_file(tmp_path):
    (tmp_path / "notes.txt").write_text("a file")
    _assert_clean_failure(edge_har("train", "--out", str(tmp_path / "notes.txt" / "run"), *TINY), "is a file")


def test_one_class_data_is_refused(tmp_path):
    for i in range(3):
        write_csv(tmp_path / f"s{i}.csv", np.random.default_rng(i).normal(size=(400, 3)), ["Walking"] * 400)
    _assert_clean_failure(edge_har("train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), *TINY),
                          "only one class")


def test_recordings_shorter_than_r_are_refused(tmp_path):
    for i in range(3):
        write_csv(tmp_path / f"s{i}.csv", np.random.default_rng(i).normal(size=(100, 3)), ["Walking", "Running"] * 50)
    result = edge_har("train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), *TINY)
    _assert_clean_failure(result, "shorter than the receptive field R = 121")


def test_a_synthetic_model_on_real_data_is_refused(exported, tmp_path):
    rng = np.random.default_rng(0)
    write_csv(tmp_path / "me.csv", rng.normal(size=(300, 3)), ["Walking"] * 150 + ["Running"] * 150)
    _assert_clean_failure(edge_har("parity", str(exported), "--data", str(tmp_path / "me.csv")), "SYNTHETIC")


def test_a_synthetic_model_refuses_a_real_board(exported, tmp_path):
    from edge_har.device.emulator import EmulatorOptions

    data = load_data(None).select(["sim6"])
    data.synthetic = False  # a board playing real readings declares nothing about synthetic data
    link = tmp_path / "tty"
    board, _ = play(EmulatorOptions(data, link, speed=0, linger_s=1), link)
    result = edge_har("stream", "--port", str(link), "--model", str(exported), "--duration", "120")
    board.join(10)
    _assert_clean_failure(result, "trained on the built-in SYNTHETIC data")


def test_tflite_micro_on_fewer_steps_than_recordings(exported, tmp_path):
    result = edge_har("parity", str(exported), "--subjects", "sim5,sim6", "--tflm-steps", "1",
                      "--min-agreement", "0", "--max-drop", "100", "--out", str(tmp_path))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert json.loads((tmp_path / "parity.json").read_text())["backends"]["tflm_int8"]["steps_evaluated"] == 1
