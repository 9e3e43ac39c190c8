"""Ordinary mistakes, made as a new user makes them, end in one line that names the file and the
fix, and a non-zero exit, never in a traceback."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from edge_har.data.loading import load_data

from .conftest import CHECK_WINDOWS, play, run_copy, write_csv
from .test_cli import TINY, _assert_clean_failure, edge_har, edge_har_in_process


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
def test_a_damaged_model_file_is_named(exported, tmp_path, content, capfd):
    run = run_copy(exported, tmp_path / "run")
    (run / "model.pt").write_bytes(content)
    result = edge_har_in_process(capfd, "export", str(run), "--int8")
    _assert_clean_failure(result, f"{run / 'model.pt'}: not a readable edge-har model")


def test_a_truncated_model_file_is_named(exported, tmp_path, capfd):
    run = run_copy(exported, tmp_path / "run")
    whole = (run / "model.pt").read_bytes()
    (run / "model.pt").write_bytes(whole[:len(whole) // 2])
    _assert_clean_failure(edge_har_in_process(capfd, "export", str(run)), "not a readable edge-har model")


def test_record_into_a_missing_folder_is_refused_before_the_port_is_opened(tmp_path):
    out = tmp_path / "nowhere" / "me.csv"
    result = edge_har("record", "--port", str(tmp_path / "no-port"), "--label", "Walking", "--out", str(out))
    _assert_clean_failure(result, "does not exist")


def test_train_refuses_an_existing_out_folder_before_training(tmp_path, capfd):
    (tmp_path / "run").mkdir()
    result = edge_har_in_process(capfd, "train", "--out", str(tmp_path / "run"), *TINY)
    _assert_clean_failure(result, "already exists")
    assert "Data:" not in result.stdout  # refused before the data was even loaded


def test_train_refuses_an_out_folder_under_a_file(tmp_path, capfd):
    (tmp_path / "notes.txt").write_text("a file")
    _assert_clean_failure(edge_har_in_process(capfd, "train", "--out", str(tmp_path / "notes.txt" / "run"), *TINY), "is a file")


def test_one_class_data_is_refused(tmp_path, capfd):
    for i in range(3):
        write_csv(tmp_path / f"s{i}.csv", np.random.default_rng(i).normal(size=(400, 3)), ["Walking"] * 400)
    _assert_clean_failure(edge_har_in_process(capfd, "train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), *TINY),
                          "only one class")


def test_recordings_shorter_than_r_are_refused(tmp_path, capfd):
    for i in range(3):
        write_csv(tmp_path / f"s{i}.csv", np.random.default_rng(i).normal(size=(100, 3)), ["Walking", "Running"] * 50)
    result = edge_har_in_process(capfd, "train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), *TINY)
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


@pytest.mark.slow  # a whole parity run
def test_tflite_micro_on_fewer_steps_than_recordings(exported, tmp_path):
    result = edge_har("parity", str(exported), "--subjects", "sim5,sim6", "--tflm-steps", "1",
                      "--min-agreement", "0", "--max-drop", "100", "--out", str(tmp_path))
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert json.loads((tmp_path / "parity.json").read_text())["backends"]["tflm_int8"]["steps_evaluated"] == 1


QUICK = [arg for arg in TINY if arg not in ("--wear", "rolled")]  # TINY with the default --wear auto and its trials


@pytest.mark.parametrize("args, message", [
    (["--ray-address", "127.0.0.1:1"], "--ray-address 127.0.0.1:1: no Ray cluster answers there"),
    (["--ray-address", "nowhere"], "give the head's HOST:PORT"),
    (["--workers", str((os.cpu_count() or 1) + 1)], "each worker keeps one busy"),
    (["--data", "synthetic:3:60", "--cv", "2", "--workers", "1"], "3 subjects are too few"),
    (["--cv-folds", "nobody"], "--cv-folds names unknown subject(s) ['nobody']"),
])
def test_ray_and_fold_mistakes_are_said_before_any_work(tmp_path, args, message):
    """Before Ray starts and before the wear trials train: one line, nothing written."""
    result = edge_har("train", "--out", str(tmp_path / "run"), *QUICK, *args)
    _assert_clean_failure(result, message)
    assert "wear trial" not in result.stdout and not (tmp_path / "run").exists()


# Reading a user's recordings: one scanner for a data folder, one line for each file it cannot take

def _people(folder: Path, names: list[str], suffix: str = ".csv", rows: int = 300) -> Path:
    folder.mkdir(exist_ok=True)
    for i, name in enumerate(names):
        write_csv(folder / f"{name}{suffix}", np.random.default_rng(i).normal(size=(rows, 3)),
                  ["Walking", "Running"] * (rows // 2))
    return folder


def test_a_folder_of_upper_case_csv_files_is_read_whole(tmp_path):
    data = _people(tmp_path / "data", ["a", "b"], ".CSV")
    _people(data, ["c"], ".csv")
    (data / "weird.csv").mkdir()  # a folder named like a recording: not a person (it holds none)
    (data / "notes.txt").write_text("not a recording")
    assert load_data(data).subjects == ["a", "b", "c"]


def test_a_sub_folder_is_one_person_as_the_one_class_advice_says(tmp_path):
    """The one-class refusal's advice, followed: each person a sub-folder, each activity a file."""
    data = tmp_path / "data"
    for i, person in enumerate(["alice", "bob", "carol"]):
        for j, activity in enumerate(["Walking", "Sitting"]):
            (data / person).mkdir(parents=True, exist_ok=True)
            write_csv(data / person / f"{activity}.csv", np.random.default_rng(10 * i + j).normal(size=(300, 3)),
                      [activity] * 300)
    one_class = _people(tmp_path / "one", ["alice", "bob", "carol"])
    for path in one_class.iterdir():
        path.write_text(path.read_text().replace(",Running", ",Walking"))
    refused = edge_har("train", "--data", str(one_class), "--out", str(tmp_path / "no"), *TINY)
    _assert_clean_failure(refused, "only one class")
    assert "--out DATA/PERSON/NAME.csv" in refused.stderr and "sub-folder of DATA holds one person" in refused.stderr
    result = edge_har("train", "--data", str(data), "--out", str(tmp_path / "run"), *TINY)
    assert result.returncode == 0, result.stderr
    assert "3 subjects, 6 recordings" in " ".join(result.stdout.split())
    assert sorted(json.loads((tmp_path / "run" / "metrics.json").read_text())["classes"]) == ["Sitting", "Walking"]


def _lines(path: Path, edit) -> Path:
    lines = path.read_text().splitlines()
    path.write_text("\n".join(edit(lines)) + "\n")
    return path


@pytest.mark.parametrize("edit, message", [
    (lambda lines: [lines[0] + ",AX"] + [line + ",0" for line in lines[1:]], "the header has the column 'ax' twice"),
    (lambda lines: lines[:100] + [lines[100]] * 100 + lines[101:], "line 102 repeats the time of the line before"),
    (lambda lines: [lines[0]] + lines[:0:-1], "time runs backwards at 299 of 299 lines"),
    (lambda lines: [lines[0].replace(",", ";")] + [line.replace(",", ";").replace(".", ",") for line in lines[1:]],
     "has a decimal comma, and edge-har reads a decimal point"),
])
def test_a_file_that_cannot_be_read_as_written_is_named_with_the_cause(tmp_path, edit, message):
    """Through `emulate`, which reads data with the same scanner as train, parity and adapt, and
    imports no torch (train's start-up would be most of these tests' time)."""
    data = _people(tmp_path / "data", ["a", "b", "c"])
    _lines(data / "b.csv", edit)
    _assert_clean_failure(edge_har("emulate", "--data", str(data)), message)


def test_a_link_that_leads_nowhere_is_named(tmp_path):
    data = _people(tmp_path / "data", ["a", "b", "c"])
    (data / "loop.csv").symlink_to(data / "loop.csv")
    _assert_clean_failure(edge_har("emulate", "--data", str(data)), f"{data / 'loop.csv'}: a link that leads nowhere")


def test_a_plain_matrix_mat_file_is_named(tmp_path):
    from scipy.io import savemat

    path = tmp_path / "one.mat"
    savemat(path, {"XTrain": np.zeros((3, 9000)), "YTrain": np.zeros((1, 9000))})
    _assert_clean_failure(edge_har("emulate", "--data", str(path)), "XTrain is one 3x9000 matrix, not a cell array")


def test_export_of_a_run_without_its_config_is_named(exported, tmp_path, capfd):
    run = run_copy(exported, tmp_path / "run")
    (run / "config.json").unlink()
    _assert_clean_failure(edge_har_in_process(capfd, "export", str(run)),
                          f"{run / 'config.json'}: missing; the run is incomplete")


def test_a_synthetic_set_too_big_for_memory_is_refused_before_it_is_made(tmp_path, capfd):
    result = edge_har_in_process(capfd, "train", "--data", "synthetic:100000:3600", "--out", str(tmp_path / "run"), *TINY)
    _assert_clean_failure(result, "synthetic:100000:3600 takes about 335.3 GB of memory")


@pytest.mark.parametrize("args, message", [
    (["--board-rate", "52"], "--board-rate needs --board-units, what one count of the sensor is"),
    (["--board-units", "0.061"], "e.g. 0.061mg (LSM6DSO at +-2 g)"),
])
def test_a_board_sensor_half_given_is_said_before_any_work(tmp_path, capfd, args, message):
    result = edge_har_in_process(capfd, "firmware", str(tmp_path / "run"), "--subject", "s", "--out",
                                 str(tmp_path / "fw"), *args)
    _assert_clean_failure(result, message)
    assert not (tmp_path / "fw").exists()


def test_a_board_sensor_without_the_int8_engine_is_said_before_any_work(tmp_path, capfd):
    result = edge_har_in_process(capfd, "export", str(tmp_path / "run"), "--board-units", "0.061mg")
    _assert_clean_failure(result, "--board-units needs --int8")
