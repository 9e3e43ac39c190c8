"""Cross-validation folds as Ray tasks (train/workers.py): the same figures as one after another,
a worker killed mid-fold retried by Ray, and `train --ray-address` on a cluster started with
`ray start --head` (loopback only)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import pytest

from edge_har.core.config import ModelConfig, TrainConfig
from edge_har.core.metrics_report import CrossValidation
from edge_har.core.workers import Workers
from edge_har.data.loading import load_data
from edge_har.train.cross_validation import cross_validate

from .test_cli import EDGE_HAR, SUBPROCESS_LIMIT_S

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'edge-har[ray]' (make test installs it)")

SMALL = TrainConfig(epochs=2, steps_per_epoch=25, batch_size=16, wear="rolled", threads=1)


def _figures(report: CrossValidation) -> list:
    return [(f.test_subject, f.accuracy, f.macro_f1, f.best_epoch, f.per_class_accuracy) for f in report.folds]


def _running_fold_workers() -> list[int]:
    """Ray worker processes executing a job now (Ray names them after the task)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::_run_job"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


def test_two_ray_workers_give_the_sequential_figures_and_survive_a_killed_worker():
    data = load_data(None)
    model = ModelConfig(len(data.classes))
    sequential = cross_validate(data, model, SMALL, "3").report
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(
        report=cross_validate(data, model, SMALL, "3", workers=Workers(2)).report))
    try:
        runner.start()
        killed = None
        while runner.is_alive() and killed is None:
            running = _running_fold_workers()
            if running:
                killed = running[0]
                os.kill(killed, signal.SIGKILL)
            time.sleep(0.05)
        runner.join()
    finally:
        ray.shutdown()
    assert killed is not None, "no fold was seen running on a Ray worker"
    assert _figures(result["report"]) == _figures(sequential)
    assert result["report"].mean_accuracy == sequential.mean_accuracy


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow  # a minute of Ray start-up and training: `make test-slow`
def test_train_joins_a_cluster_started_with_ray_start(tmp_path):
    port = _free_port()
    ray_cli = str(Path(EDGE_HAR).parent / "ray")
    subprocess.run([ray_cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                    "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"], check=True,
                   capture_output=True, timeout=SUBPROCESS_LIMIT_S)
    try:
        done = subprocess.run([EDGE_HAR, "train", "--out", str(tmp_path / "run"), "--cv", "3", "--epochs", "2",
                               "--steps-per-epoch", "15", "--wear", "rolled", "--threads", "1",
                               "--ray-address", f"127.0.0.1:{port}"], capture_output=True, text=True,
                              timeout=SUBPROCESS_LIMIT_S)
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=SUBPROCESS_LIMIT_S)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert len(metrics["cv"]["folds"]) == len(load_data(None).subjects)
    assert "accuracy 0." in done.stdout  # each fold's figure as it landed
