"""Jobs as Ray tasks (core/workers.py): folds, wear trials, ladder rungs and parity's subjects give the
same figures as one after another,
a worker killed mid-fold retried by Ray, and `train --ray-address` on a cluster started with
`ray start --head` (loopback only)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import threading
import time
import uuid
from dataclasses import replace
from pathlib import Path

import pytest

from edge_har.core.config import ModelConfig, TrainConfig
from edge_har.core.errors import UserError
from edge_har.core.metrics_report import CrossValidation
from edge_har.core.workers import HERE, Workers, gpu_share
from edge_har.data.loading import load_data
from edge_har.eval.parity import ParityOptions, parity
from edge_har.train.cross_validation import cross_validate
from edge_har.train.rf_search import Budget, search_receptive_field
from edge_har.train.wear_trials import choose_wear

from .conftest import signalled_child
from .test_cli import EDGE_HAR, SUBPROCESS_LIMIT_S

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'edge-har[ray]' (make test installs it)")

SMALL = TrainConfig(epochs=2, steps_per_epoch=25, batch_size=16, wear="rolled", threads=1)


def _figures(report: CrossValidation) -> list:
    return [(f.test_subject, f.accuracy, f.macro_f1, f.best_epoch, f.per_class_accuracy) for f in report.folds]


def _figures_of(parity_report: dict) -> dict:
    """parity.json's backends without the seconds each took."""
    return {name: {k: v for k, v in entry.items() if k != "seconds"} for name, entry in parity_report["backends"].items()}


def _parent(pid: int) -> int:
    """A process's parent (0 once it has gone); the field after the parenthesised command name."""
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _ours(pid: int) -> bool:
    """Started by this test process: its Ray's raylet is our child, and the workers are the raylet's."""
    while pid > 1:
        pid = _parent(pid)
        if pid == os.getpid():
            return True
    return False


def _running_fold_workers() -> list[int]:
    """This test's own Ray worker processes executing a job now (Ray names them after the task); a
    user's Ray beside the test run is never touched."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(b"ray::_run_job"):
                pids.append(int(entry.name))
        except OSError:
            continue
    return [pid for pid in pids if _ours(pid)]


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
        with pytest.raises(UserError) as raised:  # a user's mistake inside a task: the same one line as here
            Workers(2).map(_mistaken, None, [7], lambda index, result: None)
        assert str(raised.value) == "a mistake in item 7"
        distributed, killed = _killing_one_worker(lambda: cross_validate(data, model, quick, "3",
                                                                         workers=Workers(2)).report)
    finally:
        ray.shutdown()
    assert killed is not None, "no fold was seen running on a Ray worker"
    assert _figures(distributed) == _figures(sequential) and distributed.mean_accuracy == sequential.mean_accuracy
    assert there[0] == here[0]  # the chosen wear and every trial's accuracy
    assert there[1].ladder == here[1].ladder and there[1].chosen == here[1].chosen
    assert [r.accuracy for r in there[1].ladder] == [r.accuracy for r in here[1].ladder] != [None, None]
    assert _figures_of(there[2]) == _figures_of(here[2]) and there[2]["steps"] == here[2]["steps"] > 10000


def _mistaken(shared, item, threads):
    """A job that meets a user's mistake: on a worker, it must reach the caller as itself, not as a
    remote traceback (checked in the test above, on its Ray)."""
    raise UserError(f"a mistake in item {item}")


def _marked(mark: str) -> dict[int, bytes]:
    """Processes (Ray's included: they inherit the environment) started with EDGE_HAR_TEST_MARK=mark,
    and their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and f"EDGE_HAR_TEST_MARK={mark}".encode() in (entry / "environ").read_bytes():
                found[int(entry.name)] = (entry / "cmdline").read_bytes()
        except OSError:
            continue
    return found


def _marked_env(mark: str) -> dict:
    return {**os.environ, "EDGE_HAR_TEST_MARK": mark}


def _gone(mark: str) -> bool:
    """Whether the marked processes have all ended; a hang bound only, far above a loaded machine's seconds."""
    deadline = time.monotonic() + SUBPROCESS_LIMIT_S
    while _marked(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not _marked(mark)


def test_sigterm_ends_a_ray_training_as_ctrl_c_does(tmp_path):
    """rc 130, one line, no half-written run and not one of its Ray processes left."""
    mark, out = uuid.uuid4().hex, tmp_path / "run"
    process = signalled_child([EDGE_HAR, "train", "--data", "synthetic:4:60", "--cv", "loso", "--workers", "2",
                               "--threads", "1", "--out", str(out), "--epochs", "50", "--wear", "rolled"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_marked_env(mark))
    while process.poll() is None and not any(line.startswith(b"ray::_run_job") for line in _marked(mark).values()):
        time.sleep(0.1)  # until a fold runs on a Ray worker
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=SUBPROCESS_LIMIT_S)
    assert process.returncode == 130, err[-2000:]
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("interrupted")
    assert not out.exists() and not list(tmp_path.glob(".run.partial-*"))
    assert _gone(mark), f"Ray processes left: {_marked(mark)}"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.slow  # a minute of Ray start-up and training: `make test-slow`
def test_train_joins_a_cluster_started_with_ray_start(tmp_path):
    port = _free_port()
    ray_cli = str(Path(EDGE_HAR).parent / "ray")
    mark = uuid.uuid4().hex  # the cluster's processes are told apart from a user's Ray by this, and only they are stopped
    subprocess.run([ray_cli, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port),
                    "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats"], check=True,
                   capture_output=True, timeout=SUBPROCESS_LIMIT_S, env=_marked_env(mark))
    try:
        done = subprocess.run([EDGE_HAR, "train", "--out", str(tmp_path / "run"), "--cv", "3", "--epochs", "2",
                               "--steps-per-epoch", "15", "--wear", "rolled", "--threads", "1",
                               "--ray-address", f"127.0.0.1:{port}"], capture_output=True, text=True,
                              timeout=SUBPROCESS_LIMIT_S)
    finally:
        for pid in _marked(mark):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        assert _gone(mark)
    assert done.returncode == 0, done.stderr[-2000:]
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert len(metrics["cv"]["folds"]) == len(load_data(None).subjects)
    assert "accuracy 0." in done.stdout  # each fold's figure as it landed


@pytest.mark.slow  # a Ray of its own, with a logical GPU: `make test-slow`
def test_training_jobs_share_a_gpu_by_rays_logical_resources():
    """With --device cuda each job asks Ray for a quarter of a GPU: on a Ray that has one (logical)
    GPU, every job is given it, and four can run at once."""
    def placed(shared, item, threads):
        return ray.get_gpu_ids(), os.environ.get("CUDA_VISIBLE_DEVICES")

    ray.init(num_cpus=2, num_gpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        assert gpu_share("cuda") == 0.25 and gpu_share("auto") == gpu_share("cpu") == 0.0
        results = Workers(2).map(placed, None, [1, 2, 3], lambda index, result: None, gpu_share=gpu_share("cuda"))
    finally:
        ray.shutdown()
    assert results == [([0], "0")] * 3
