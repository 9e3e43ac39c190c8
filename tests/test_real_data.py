"""Acceptance checks on real recordings: long trainings, run on request (`make test-slow`)."""

from __future__ import annotations

import json

import pytest

from edge_har.train_run import TrainOptions, train

pytestmark = pytest.mark.slow


def test_humanactivity_loso_accuracy(humanactivity_train, tmp_path):
    out = train(TrainOptions(data=str(humanactivity_train), out=tmp_path / "run", cv="loso"))
    cv = json.loads((out / "metrics.json").read_text())["cv"]
    assert len(cv["folds"]) == 6
    assert cv["mean_accuracy"] >= 0.95
    assert min(f["accuracy"] for f in cv["folds"]) >= 0.90
