"""Adapting a trained run to one wearer: the honest split, the fine-tuning, and the adapted run
as a run like any other (it exports and passes the int8 gates)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edge_har.core.labels import UNLABELED
from edge_har.data.dataset import Dataset, Recording, with_label_delay
from edge_har.data.loading import load_data
from edge_har.data.synthetic import synthetic_dataset
from edge_har.export.exporter import ExportOptions, export
from edge_har.model.run_folder import Run
from edge_har.train.adapt_command import AdaptOptions, adapt
from edge_har.train.adaptation import first_seconds, spread_seconds, wearer_dataset
from edge_har.train.training import evaluate

from .conftest import CHECK_WINDOWS, label_delay, run_copy, write_csv
from .test_cli import TINY, _assert_clean_failure, edge_har


def _person(labels: list[int], subject: str = "p") -> Recording:
    y = np.array(labels, dtype=np.int64)
    return Recording(subject, np.zeros((len(y), 3), dtype=np.float32), y)


def test_first_seconds_takes_the_start_of_each_activity_across_recordings_and_scores_the_rest():
    first = _person([0, 0, 0, UNLABELED, 1, 1])
    second = _person([0, 0, 1, 1, 1, 1])
    person = Dataset([first, second], ["a", "b"], 1.0, "test")
    clips, rest = first_seconds(person, 4, 1.0)  # four steps of each class
    assert [c.y.tolist() for c in clips.recordings] == [[0, 0, 0], [1, 1], [0], [1, 1]]
    assert rest.recordings[0].y.tolist() == [UNLABELED] * 6
    assert rest.recordings[1].y.tolist() == [UNLABELED, 0, UNLABELED, UNLABELED, 1, 1]
    assert clips.labelled_steps() + rest.labelled_steps() == person.labelled_steps()


def test_spread_seconds_takes_even_pieces_of_each_activity_across_all_its_steps():
    first = _person([0, 0, 0, 0, 1, 1, UNLABELED])
    second = _person([0, 0, 0, 0, 1, 1])
    person = Dataset([first, second], ["a", "b"], 1.0, "test")
    clips, rest = spread_seconds(person, 4, 1.0, pieces=2)  # two pieces of two steps of each class
    assert [c.y.tolist() for c in clips.recordings] == [[0, 0], [1, 1], [0, 0, 1, 1]]  # adjacent pieces join
    assert rest.recordings[0].y.tolist() == [UNLABELED, UNLABELED, 0, 0, UNLABELED, UNLABELED, UNLABELED]
    assert rest.recordings[1].y.tolist() == [0, 0, UNLABELED, UNLABELED, UNLABELED, UNLABELED]
    assert clips.labelled_steps() + rest.labelled_steps() == person.labelled_steps()


def test_the_wearers_labels_are_put_in_the_runs_class_order():
    person = Dataset([_person([0, 1, UNLABELED])], ["Walking", "Sitting"], 50.0, "test")
    mapped = wearer_dataset(person, ["Dancing", "Sitting", "Walking"])
    assert mapped.recordings[0].y.tolist() == [2, 1, UNLABELED]
    assert mapped.classes == ["Dancing", "Sitting", "Walking"]


def _wearer_clips(folder: Path, seconds: float) -> tuple[Path, Dataset]:
    """The first `seconds` of each of sim6's activities as CSV clips (as `record --label` writes them),
    and sim6's remaining steps to score on. The synthetic run never trained on sim6 (its validation person)."""
    sim6 = synthetic_dataset().select(["sim6"])
    clips, rest = first_seconds(sim6, seconds, sim6.sample_rate_hz)
    folder.mkdir()
    for i, clip in enumerate(clips.recordings):
        write_csv(folder / f"clip{i}.csv", clip.x, [sim6.classes[label] for label in clip.y], sim6.sample_rate_hz)
    return folder, rest


@pytest.fixture(scope="module")
def adapted(exported, tmp_path_factory) -> tuple[Path, Path, Dataset]:
    """(parent, adapted run, the wearer's steps to score): sim6 adapted on 10 s of each activity."""
    folder = tmp_path_factory.mktemp("adapt")
    parent = run_copy(exported, folder / "parent")
    clips, rest = _wearer_clips(folder / "wearer", 10)
    return parent, adapt(AdaptOptions(parent, str(clips), folder / "adapted")), rest


# A training and an adaptation: slow; test_cross_validation_reports_each_held_out_persons_adaptation adapts in
# the default run
@pytest.mark.slow
def test_adapting_raises_accuracy_on_the_wearer(adapted):
    parent, out, rest = adapted
    rest = with_label_delay(rest, label_delay(parent))  # held to the steps the model names
    before = evaluate(Run(parent).model, rest).summary["accuracy"]
    after = evaluate(Run(out).model, rest).summary["accuracy"]
    assert after >= before + 0.05, (before, after)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["adapted_from"]["run"] == str(parent)
    # Each clip is a recording of its own: its first second names steps before it began (the default delay)
    named_seconds = 10.0 - label_delay(parent) / 50
    assert metrics["adaptation"]["labelled_per_class"] == {name: named_seconds for name in metrics["classes"]}
    assert json.loads((out / "config.json").read_text())["extra"]["adapted_from"] == str(parent)
    assert metrics["adaptation"]["config"]["seeds"] == 3  # a soup of three fine-tunings
    assert metrics["adaptation"]["seconds_taken"] > 0


@pytest.mark.slow  # a full int8 export of the adapted run (its calibration: parent's and wearer's windows)
def test_the_adapted_run_passes_the_int8_gates(adapted):
    _, out, _ = adapted
    export(ExportOptions(out, int8=True, check_windows=CHECK_WINDOWS))  # the default gates: raises below them
    report = json.loads((out / "export" / "export.json").read_text())
    assert report["gate"]["passed"] and report["quantization"]["activations"] == "int16"  # the default
    assert min(report["agreement_with_fp32"].values()) >= 0.99


def test_adapt_refuses_a_class_the_run_does_not_know(exported, tmp_path):
    x = load_data(None).recordings[0].x[:200]
    data = write_csv(tmp_path / "me.csv", x, ["Cycling"] * len(x))
    result = edge_har("adapt", str(exported), "--data", str(data), "--out", str(tmp_path / "adapted"))
    _assert_clean_failure(result, "class(es) ['Cycling'] the run does not know")
    assert not (tmp_path / "adapted").exists()


def test_adapt_seconds_needs_cross_validation(tmp_path):
    result = edge_har("train", "--out", str(tmp_path / "run"), "--adapt-seconds", "10")
    _assert_clean_failure(result, "--adapt-seconds measures adaptation to each held-out person: give --cv")


def test_cross_validation_reports_each_held_out_persons_adaptation(tmp_path):
    out = tmp_path / "run"
    result = edge_har("train", "--out", str(out), "--cv-folds", "sim6", "--adapt-seconds", "10,30", *TINY)
    assert result.returncode == 0, result.stderr
    cv = json.loads((out / "metrics.json").read_text())["cv"]
    adapted = cv["folds"][0]["adapted"]
    assert [row["seconds"] for row in adapted] == [10, 30]
    sim6_steps = synthetic_dataset().select(["sim6"]).labelled_steps() - label_delay(out)  # never named: the last steps
    for row in adapted:
        assert 0 <= row["accuracy"] <= 1 and 0 <= row["macro_f1"] <= 1
        assert row["adapted_on_steps"] == row["seconds"] * 50 * 5  # 50 Hz, five activities
        assert row["adapted_on_steps"] + row["scored_steps"] == sim6_steps
    assert [row["seconds"] for row in cv["adapted"]] == [10, 30]
    fold = json.loads((out / "folds" / "fold-6" / "fold.json").read_text())
    assert fold["test_subjects"] == ["sim6"] and "sim6" not in fold["train_subjects"]
    assert (out / "folds" / "fold-6" / "model.pt").is_file()
    assert "Adapted on 30 s of each activity" in result.stdout
