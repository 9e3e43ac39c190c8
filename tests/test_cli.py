"""`edge-har` as a user runs it: the real console script in a subprocess (in this process for mistakes told
before any work), real files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from .conftest import write_csv

EDGE_HAR = str(Path(sys.executable).with_name("edge-har"))
# A bound for a hung command only: far above what any command here takes on a loaded 2-core machine
SUBPROCESS_LIMIT_S = 3600
TINY = ["--epochs", "1", "--steps-per-epoch", "2", "--batch-size", "4", "--filters", "8", "--wear", "rolled"]


def edge_har(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([EDGE_HAR, *args], capture_output=True, text=True, cwd=cwd, timeout=SUBPROCESS_LIMIT_S)


def edge_har_in_process(capfd, *args: str) -> subprocess.CompletedProcess:
    """The console script run in this process, for mistakes told before any work: the exit code and
    both streams as `edge_har` gives them, without an interpreter's and torch's start-up per case."""
    from edge_har.cli import run

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "argv", ["edge-har", *args])
        with pytest.raises(SystemExit) as end:
            run()
    out, err = capfd.readouterr()
    return subprocess.CompletedProcess(["edge-har", *args], end.value.code, out, err)


def test_help_explains_the_commands():
    top = edge_har("--help")
    assert top.returncode == 0 and "train" in top.stdout
    train = edge_har("train", "--help")
    for option in ("--data", "--cv", "--rf", "--target-accuracy", "--max-params", "--device", "--seed"):
        assert option in train.stdout


def test_train_with_loso_writes_a_complete_run(tmp_path):
    out = tmp_path / "run"
    result = edge_har("train", "--out", str(out), "--cv", "loso", *TINY)
    assert result.returncode == 0, result.stderr
    assert "SYNTHETIC" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["receptive_field"] == 121 and isinstance(metrics["receptive_field"], int)
    assert metrics["classes"] == ["Dancing", "Running", "Sitting", "Standing", "Walking"]
    assert metrics["sample_rate_hz"] == 50 and metrics["synthetic_data"] is True
    assert isinstance(metrics["params"], int) and metrics["params"] > 0
    folds = metrics["cv"]["folds"]
    assert [f["test_subject"] for f in folds] == [f"sim{i}" for i in range(1, 7)]
    assert all(0 <= f["accuracy"] <= 1 for f in folds)
    assert metrics["cv"]["mean_accuracy"] == pytest.approx(np.mean([f["accuracy"] for f in folds]))
    config = json.loads((out / "config.json").read_text())
    assert config["model"]["filters"] == 8 and config["synthetic_data"] is True
    # by default no one is held out for validation: every fold's people and the final model's train
    assert all(f["val_subjects"] == [] for f in folds)
    final = metrics["final"]
    assert final["validation_subjects"] == [] and "validation_accuracy" not in final
    assert final["best_epoch"] == final["epochs_run"] and "trained on every person" in " ".join(result.stdout.split())
    for plot in ("training_curves.png", "confusion.png", "timeline.png"):
        assert (out / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (out / "model.pt").stat().st_size > 0


def test_cv_folds_runs_only_the_named_folds(tmp_path):
    out = tmp_path / "run"
    result = edge_har("train", "--out", str(out), "--cv-folds", "sim2,sim5", *TINY)
    assert result.returncode == 0, result.stderr
    cv = json.loads((out / "metrics.json").read_text())["cv"]
    assert cv["scheme"] == "loso" and cv["only_folds_holding_out"] == ["sim2", "sim5"]
    assert [(f["fold"], f["test_subject"]) for f in cv["folds"]] == [(2, "sim2"), (5, "sim5")]
    assert "only the folds holding out sim2, sim5" in result.stdout
    assert json.loads((out / "config.json").read_text())["cv_folds"] == ["sim2", "sim5"]


def test_rf_auto_writes_its_ladder(tmp_path):
    out = tmp_path / "run"
    result = edge_har("train", "--out", str(out), "--rf", "auto", "--cv", "3", "--max-params", "2000", *TINY)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    ladder = metrics["rf_search"]["ladder"]
    assert [r["receptive_field"] for r in ladder] == [13, 29, 61, 121, 249]
    tried = [r for r in ladder if r["accuracy"] is not None]
    assert all(r["params"] <= 2000 for r in tried) and any("max-params" in r.get("skipped", "") for r in ladder)
    chosen = [r for r in ladder if r.get("chosen")]
    assert len(chosen) == 1 and chosen[0]["receptive_field"] == metrics["receptive_field"]
    assert (out / "rf_ladder.png").exists()


def test_rf_number_sets_the_shape_and_val_subjects_holds_people_out(tmp_path):
    out = tmp_path / "run"
    assert edge_har("train", "--out", str(out), "--rf", "29", "--val-subjects", "1", *TINY).returncode == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["receptive_field"] == 29 and metrics["model"]["kernel_size"] == 3
    assert metrics["final"]["validation_subjects"] == ["sim6"] and 0 <= metrics["final"]["validation_accuracy"] <= 1
    assert metrics["subjects"][-1] == "sim6" and (out / "confusion.png").exists()


def _assert_clean_failure(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert message in result.stderr
    assert len([line for line in result.stderr.splitlines() if line.strip()]) == 1


@pytest.mark.parametrize("args, message", [
    (["--data", "nope.csv"], "no such file"),
    (["--rf", "120"], "odd"),
    (["--cv", "sideways"], "'loso' or a number"),
    (["--cv-folds", "nobody"], "unknown subject(s) ['nobody']"),
    (["--device", "tpu"], "--device"),
    (["--norm", "group"], "--norm"),
    (["--wear", "sideways"], "--wear must be auto or one of rolled, fixed, any"),
    (["--classes", "Flying"], "not in the data"),
])
def test_user_mistakes_get_one_clear_line(tmp_path, monkeypatch, capfd, args, message):
    out = tmp_path / "run"
    monkeypatch.chdir(tmp_path)
    _assert_clean_failure(edge_har_in_process(capfd, "train", "--out", str(out), *TINY, *args), message)
    assert not out.exists()


def test_export_refuses_a_core_it_does_not_know(tmp_path):
    result = edge_har("export", str(tmp_path), "--int8", "--cores", "m4,m7")
    _assert_clean_failure(result, "--cores takes m4, m33, m0, rv32, not m7")


def test_bad_csv_value_names_the_line(tmp_path):
    path = write_csv(tmp_path / "s1.csv", np.zeros((3, 3)), ["a"] * 3)
    path.write_text(path.read_text().replace("0.00000,a\n0.020", "nan,a\n0.020", 1))
    _assert_clean_failure(edge_har("train", "--data", str(path), *TINY), "line 2, column 'az'")


def test_too_few_subjects(tmp_path):
    write_csv(tmp_path / "only.csv", np.zeros((200, 3)), ["a", "b"] * 100)
    _assert_clean_failure(edge_har("train", "--data", str(tmp_path), "--cv", "loso", *TINY), "at least 3 subjects")


def test_failed_search_leaves_no_run_behind(tmp_path):
    out = tmp_path / "run"
    result = edge_har("train", "--out", str(out), "--rf", "auto", "--cv", "3", "--max-params", "10", *TINY)
    _assert_clean_failure(result, "over the budget")
    assert not out.exists() and not list(tmp_path.iterdir())


def test_wear_auto_chooses_on_held_out_training_people_in_every_fold(tmp_path):
    from edge_har.train.wear import WEARS

    out = tmp_path / "run"
    tiny_auto = [arg for arg in TINY if arg not in ("--wear", "rolled")]
    result = edge_har("train", "--out", str(out), "--cv", "3", *tiny_auto)
    assert result.returncode == 0, result.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    chosen = metrics["wear"]["chosen"]
    assert chosen in WEARS and set(metrics["wear"]["trial_accuracy"]) == set(WEARS)
    assert f"--wear auto chose '{chosen}'" in result.stdout
    for fold in metrics["cv"]["folds"]:  # each fold chose without its test subject
        assert fold["wear"]["chosen"] in WEARS and fold["test_subject"] not in fold["wear"]["validation_subjects"]
    train_config = json.loads((out / "config.json").read_text())["train"]
    assert train_config["wear"] == chosen and train_config["rotate_deg"] == WEARS[chosen].rotate_deg


def test_expert_flags_override_the_wear(tmp_path):
    out = tmp_path / "run"
    tiny_fixed = [arg if arg != "rolled" else "fixed" for arg in TINY]
    assert edge_har("train", "--out", str(out), *tiny_fixed, "--rotate-deg", "30").returncode == 0
    train_config = json.loads((out / "config.json").read_text())["train"]
    assert (train_config["wear"], train_config["roll_axis"], train_config["flip_axes"], train_config["rotate_deg"]) \
        == (None, None, False, 30.0)
