"""Jobs as Ray tasks (core/workers.py): folds, wear trials, ladder rungs and parity's subjects give the
same figures as one after another,
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
from dataclasses import replace
from pathlib import Path

import pytest

from edge_har.core.config import ModelConfig, TrainConfig
from edge_har.core.metrics_report import CrossValidation
from edge_har.core.workers import HERE, Workers
from edge_har.data.loading import load_data
from edge_har.eval.parity import ParityOptions, parity
from edge_har.train.cross_validation import cross_validate
from edge_har.train.rf_search import Budget, search_receptive_field
from edge_har.train.wear_trials import choose_wear

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


def _killing_one_worker(work):
    """work() in a thread, SIGKILLing the first Ray worker seen running a job; (its result, the pid killed)."""
    result: dict = {}
    runner = threading.Thread(target=lambda: result.update(value=work()))
    runner.start()
    killed = None
    while runner.is_alive() and killed is None:
        running = _running_fold_workers()
        if running:
            killed = running[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    runner.join()
    return result.get("value"), killed


def test_jobs_on_two_ray_workers_give_the_sequential_figures_and_survive_a_killed_worker(exported, tmp_path):
    """Cross-validation folds (a worker killed mid-fold), wear trials, the ladder's rungs and parity's
    subjects, each once here and once on a local Ray with two workers: the same figures."""
    data = load_data(None)
    model = ModelConfig(len(data.classes))
    quick = replace(SMALL, epochs=1, steps_per_epoch=10)
    ladder = [(3, 2), (3, 3)]

    def jobs(workers: Workers, out: str) -> tuple:
        return (choose_wear(data, model, quick, workers=workers),
                search_receptive_field(data, model, quick, "2", Budget(), ladder=ladder, workers=workers),
                parity(ParityOptions(exported, subjects=["sim5", "sim6"], tflm_steps=300, min_agreement=0.0,
                                     max_drop=1.0, out=tmp_path / out, workers=workers)))

    sequential, here = cross_validate(data, model, quick, "3").report, jobs(HERE, "here")
    try:
        there = jobs(Workers(2), "there")  # Ray starts here: its GCS and raylet die with the thread that started them
        distributed, killed = _killing_one_worker(lambda: cross_validate(data, model, quick, "3",
                                                                         workers=Workers(2)).report)
    finally:
        ray.shutdown()
    assert killed is not None, "no fold was seen running on a Ray worker"
    assert _figures(distributed) == _figures(sequential) and distributed.mean_accuracy == sequential.mean_accuracy
    assert there[0] == here[0]  # the chosen wear and every trial's accuracy
    assert there[1].ladder == here[1].ladder and there[1].chosen == here[1].chosen
    assert [r.accuracy for r in there[1].ladder] == [r.accuracy for r in here[1].ladder] != [None, None]
    assert there[2]["backends"] == here[2]["backends"] and there[2]["steps"] == here[2]["steps"] > 10000


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
