"""Loading every supported source, and refusing bad input with a clear DataError."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io

from edge_har.core.errors import DataError
from edge_har.core.labels import UNLABELED
from edge_har.data.dataset import keep_classes, subject_folds
from edge_har.data.loading import load_data

from .conftest import write_csv


def test_csv_folder_reads_only_recordings_and_masks_unlabelled(tmp_path):
    rng = np.random.default_rng(0)
    write_csv(tmp_path / "alice.csv", rng.normal(size=(6, 3)), ["walk", "walk", "unlabeled", "sit", "sit", ""])
    write_csv(tmp_path / "bob.csv", rng.normal(size=(4, 3)), ["sit"] * 4)
    (tmp_path / "README.txt").write_text("not a recording")
    (tmp_path / "activity_labels.txt").write_text("1 walk\n2 sit\n")
    data = load_data(tmp_path)
    assert data.subjects == ["alice", "bob"]
    assert data.classes == ["sit", "walk"]
    assert data.sample_rate_hz == pytest.approx(50.0)
    alice = data.recordings[0]
    assert alice.y.tolist() == [1, 1, UNLABELED, 0, 0, UNLABELED]
    assert alice.x.dtype == np.float32 and alice.x.shape == (6, 3)


def test_time_jump_starts_a_new_recording_of_the_same_subject(tmp_path):
    path = tmp_path / "s1.csv"
    first = write_csv(tmp_path / "a.csv", np.zeros((5, 3)), ["sit"] * 5).read_text().splitlines()
    second = write_csv(tmp_path / "b.csv", np.ones((3, 3)), ["walk"] * 3, t0=10.08).read_text().splitlines()
    path.write_text("\n".join(first + second[1:]) + "\n")
    data = load_data(path)
    assert [len(r) for r in data.recordings] == [5, 3]
    assert {r.subject for r in data.recordings} == {"s1"}
    assert data.recordings[1].x[0].tolist() == [1, 1, 1]


def test_hapt_dev_layout(hapt_dev):
    data = load_data(hapt_dev)
    assert len(data.subjects) == 15
    assert len(data.classes) == 12 and "unlabeled" not in data.classes
    assert data.sample_rate_hz == pytest.approx(50.0)
    assert len(data.recordings) > len(data.subjects)  # several recordings per subject
    labelled = data.labelled_steps() / sum(len(r) for r in data.recordings)
    assert 0.65 < labelled < 0.8  # about 27% of rows are unlabelled


def test_humanactivity_mat(humanactivity_train):
    data = load_data(humanactivity_train)
    assert data.classes == ["Dancing", "Running", "Sitting", "Standing", "Walking"]
    assert len(data.subjects) == 6
    lengths = [len(r) for r in data.recordings]
    assert min(lengths) == 50688 and max(lengths) == 64480
    assert all((r.y >= 0).all() for r in data.recordings)
    assert data.sample_rate_hz is None


def test_keep_classes_masks_the_others(tmp_path):
    write_csv(tmp_path / "s.csv", np.zeros((4, 3)), ["a", "b", "c", "unlabeled"])
    data = keep_classes(load_data(tmp_path / "s.csv"), ["c", "a"])
    assert data.classes == ["c", "a"]
    assert data.recordings[0].y.tolist() == [1, UNLABELED, 0, UNLABELED]


def _mat(path, x_cells, labels_cells):
    x = np.empty((len(x_cells), 1), dtype=object)
    y = np.empty((len(labels_cells), 1), dtype=object)
    for i, cell in enumerate(x_cells):
        x[i, 0] = cell
    for i, labels in enumerate(labels_cells):
        y[i, 0] = np.array(labels, dtype=object).reshape(1, -1)
    scipy.io.savemat(path, {"XTrain": x, "YTrain": y})
    return path


def test_mat_with_cellstr_labels(tmp_path):
    data = load_data(_mat(tmp_path / "ok.mat", [np.zeros((3, 4))], [["Sitting"] * 2 + ["Walking"] * 2]))
    assert data.classes == ["Sitting", "Walking"]
    assert data.recordings[0].y.tolist() == [0, 0, 1, 1]


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing.csv", "no such file"),
    (lambda p: (p / "x.json").write_text("{}") and p / "x.json", "unknown layout"),
    (lambda p: (p / "x.csv").write_text("t,ax,ay\n0,1,2\n") and p / "x.csv", "missing column"),
    (lambda p: (p / "x.csv").write_text("t,ax,ay,az,label\n0,1,2,3,a\n0.02,1,oops,3,a\n") and p / "x.csv",
     "line 3, column 'ay': 'oops'"),
    (lambda p: (p / "x.csv").write_text("t,ax,ay,az,label\n0,1,2,inf,a\n") and p / "x.csv", "line 2, column 'az'"),
    (lambda p: (p / "x.csv").write_text("t,ax,ay,az,label\n0,1,2,3,\n") and p / "x.csv", "no labelled steps"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "no .csv recordings"),
    (lambda p: _mat(p / "m.mat", [np.zeros((3, 5))], [["a"] * 4]), "5 samples but 4 labels"),
    (lambda p: _mat(p / "m.mat", [np.zeros((2, 5))], [["a"] * 5]), "expected a 3xN signal"),
    (lambda p: scipy.io.savemat(p / "m.mat", {"foo": np.zeros(3)}) or p / "m.mat", "unknown layout"),
])
def test_bad_input_is_refused_with_a_clear_message(tmp_path, make, message):
    with pytest.raises(DataError, match=message.replace("(", r"\(")):
        load_data(make(tmp_path))


def test_cross_validation_needs_enough_subjects():
    assert subject_folds(["a", "b", "c"], "loso") == [(1, ["a"]), (2, ["b"]), (3, ["c"])]
    assert subject_folds(list("abcde"), "2") == [(1, ["a", "b", "c"]), (2, ["d", "e"])]
    with pytest.raises(DataError, match="at least 3 subjects"):
        subject_folds(["a", "b"], "loso")
    with pytest.raises(DataError, match="'loso' or a number"):
        subject_folds(["a", "b", "c"], "kfold")


def test_chosen_folds_keep_their_numbers():
    assert subject_folds(list("abcd"), "loso", only=["d", "b"]) == [(2, ["b"]), (4, ["d"])]
    assert subject_folds(list("abcde"), "2", only=["e"]) == [(2, ["d", "e"])]
    with pytest.raises(DataError, match=r"unknown subject\(s\) \['z'\]"):
        subject_folds(list("abc"), "loso", only=["z"])
