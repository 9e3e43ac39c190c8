"""Messages are true: user text is printed as given (never read as markup or emoji codes), the help
says what the source says, and advice works when it is followed."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from edge_har.data.loading import load_data
from edge_har.device.emulator import EmulatorOptions

from .conftest import label_delay, play, write_csv
from .test_cli import SUBPROCESS_LIMIT_S, _assert_clean_failure, edge_har

ODD = ":-1:[red][train]"  # an emoji code and two things rich would take for markup


def test_a_data_spec_is_printed_as_given():
    _assert_clean_failure(edge_har("train", "--data", "synthetic:-1"), "synthetic:-1: at least 2 people")


def test_odd_names_in_paths_are_printed_as_given(exported, tmp_path):
    missing = tmp_path / f"{ODD}.csv"
    _assert_clean_failure(edge_har("train", "--data", str(missing)), f"{missing}: no such file or folder")
    out = tmp_path / f"cal{ODD}.npz"
    result = edge_har("calibrate", str(exported), "--out", str(out), "--data", "synthetic:3:60", "--per-class", "2")
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout.replace("\n", "")  # rich breaks long lines where a space was, or mid-path
    assert "--data synthetic:3:60: the built-in SYNTHETIC dataset" in " ".join(result.stdout.split())  # not "No --data given"


@pytest.mark.parametrize("command", ["train", "parity"])
def test_help_names_the_ray_install_as_the_source_does(command):
    assert "edge-har[ray]" in edge_har(command, "--help").stdout.replace("\n", "")


# Advice that works when followed

@pytest.mark.slow  # follows the advice through a whole export
def test_the_export_folder_given_for_the_run_is_named_and_the_advice_works(exported, tmp_path):
    result = edge_har("parity", str(exported / "export"))
    _assert_clean_failure(result, f"{exported / 'export'} is an export folder; give the training run that holds it: "
                                  f"{exported}")
    followed = edge_har("parity", str(exported), "--subjects", "sim6", "--tflm-steps", "10", "--min-agreement", "0",
                        "--max-drop", "100", "--out", str(tmp_path))
    assert followed.returncode == 0, followed.stderr


def test_a_foreign_export_json_is_named_as_foreign_not_as_a_damaged_model(exported, exported_16x8, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(exported, run)
    shutil.copy(exported_16x8 / "export" / "export.json", run / "export" / "export.json")
    result = edge_har("parity", str(run), "--subjects", "sim6", "--out", str(tmp_path / "p"))
    _assert_clean_failure(result, f"{run / 'export' / 'export.json'} does not describe the files beside it")
    assert f"edge-har export {run} --int8 --force" in result.stderr


def test_an_export_json_of_another_model_is_named(exported, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(exported, run)
    model = (run / "model.pt").read_bytes()
    (run / "model.pt").write_bytes(model + b"\0")  # another model.pt than the one exported (as a retrained run has)
    result = edge_har("stream", "--port", "/dev/null", "--model", str(run))
    _assert_clean_failure(result, f"{run / 'export' / 'export.json'} was exported from another model than")


def test_a_stream_told_the_wrong_format_says_what_the_bytes_look_like(exported, tmp_path):
    data = load_data(None).select(["sim6"])
    link = tmp_path / "tty"
    board, _ = play(EmulatorOptions(data, link, speed=0, linger_s=1), link)
    result = edge_har("stream", "--port", str(link), "--model", str(exported), "--format", "text",
                      "--summary", str(tmp_path / "s.json"))
    board.join(SUBPROCESS_LIMIT_S)
    _assert_clean_failure(result, "--format text: no sample in the first")
    assert "look like edge-har binary frames; give --format binary or --format auto" in result.stderr
    assert json.loads((tmp_path / "s.json").read_text())["samples"] == 0


def test_adapt_says_its_data_is_one_person_with_the_classes_it_holds(exported, tmp_path):
    data = tmp_path / "me"
    data.mkdir()
    rng = np.random.default_rng(0)
    for activity in ("Walking", "Sitting"):
        write_csv(data / f"{activity}.csv", rng.normal(size=(400, 3)), [activity] * 400)
    result = edge_har("adapt", str(exported), "--data", str(data), "--units", "g", "--out", str(tmp_path / "adapted"),
                      "--steps", "2", "--seeds", "1")
    assert result.returncode == 0, result.stderr
    named = 800 - 2 * label_delay(exported)  # each recording's first steps name none of its samples
    assert f"Wearer: one person, 2 recording(s), {named} labelled steps of 2 of the run's 5 classes (Sitting, Walking)" \
        in " ".join(result.stdout.split())
