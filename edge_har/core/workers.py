"""Independent jobs (cross-validation folds, ladder rungs' folds, wear trials, parity's subjects), in
this process one after another, or as Ray tasks on a local Ray with N workers or on an existing
cluster (`ray start --head`, `ray start --address`). The shared inputs reach the workers once,
through Ray's object store; each job seeds itself, so its result does not depend on where or in
which order it runs. A task whose worker dies is retried by Ray; a job that fails ends the run with
its error. Ray is imported only where jobs go to it; torch not at all (a job sets its own threads)."""

from __future__ import annotations

import os
import signal
import socket
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib.util import find_spec
from typing import Any, TypeVar

from rich.progress import Progress

from .errors import UserError

Item = TypeVar("Item")
Job = Callable[[Any, Any, int | None], Any]  # job(shared, item, threads)
RETRIES = 3  # a worker killed mid-task: Ray runs the task again, up to this many times
RAY_INSTALL = "pip install 'edge-har[ray]'"
GPU_SHARE = 0.25  # the share of a GPU a training job asks Ray for (--device cuda): four folds share one GPU
CONNECT_TIMEOUT_S = 10  # --ray-address: how long the head's port may take to answer before the run is refused


@dataclass(frozen=True)
class Workers:
    """Where jobs run: `count` None and no `address`: here, one after another (the default)."""

    count: int | None = None
    address: str | None = None

    @property
    def distributed(self) -> bool:
        return self.count is not None or self.address is not None

    def check(self) -> None:
        """Before any work: Ray present, a count the machine can run, a cluster that answers."""
        if self.count is not None and self.count < 1:
            raise UserError(f"--workers {self.count}: give 1 or more")
        cores = os.cpu_count() or 1
        if self.count is not None and self.address is None and self.count > cores:
            raise UserError(f"--workers {self.count}: this machine has {cores} cores and each worker keeps one busy; "
                            f"give at most --workers {cores} (more would only wait for each other)")
        if self.distributed and find_spec("ray") is None:
            raise UserError(f"--workers and --ray-address run jobs on Ray, which is not installed: {RAY_INSTALL}")
        if self.address is not None:
            _check_reachable(self.address)

    def map(self, job: Job, shared: Any, items: Sequence[Item], landed: Callable[[int, Any], None],
            threads: int | None = None, gpu_share: float = 0.0) -> list:
        """[job(shared, item, threads) for item in items], in order; `landed(index, result)` as each
        finishes. `threads`: the intra-op threads a job should use (None: its library's default
        here; on Ray, the cores per worker), which the job applies itself. `gpu_share`: on Ray, the
        share of a GPU each job asks for (Ray's logical GPU resources: 0.25 lets four jobs share one)."""
        if not self.distributed:
            results = []
            for index, item in enumerate(items):
                results.append(_run_job(job, shared, item, threads))
                landed(index, results[-1])
            return results
        return _on_ray(self, job, shared, items, landed, threads, gpu_share)


HERE = Workers()  # every job in this process, one after another


def gpu_share(device: str) -> float:
    """The GPU share a training job asks Ray for: GPU_SHARE with --device cuda, none otherwise (auto
    takes a GPU where the worker sees one, so it cannot reserve one)."""
    return GPU_SHARE if device == "cuda" else 0.0


def _check_reachable(address: str) -> None:
    """The head's port answers, or one line now: Ray itself retries an absent cluster for minutes."""
    if address == "auto":  # Ray looks for a cluster started on this machine, and says at once when there is none
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise UserError(f"--ray-address {address}: give the head's HOST:PORT (e.g. 10.0.0.5:6379, as `ray start "
                        "--head` prints it) or auto")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as err:
        why = err.strerror or "no answer"
        raise UserError(f"--ray-address {address}: no Ray cluster answers there ({why} within {CONNECT_TIMEOUT_S} s); "
                        "start one with `ray start --head` on that machine and give the address it prints, or "
                        "leave out --ray-address to run here") from None


def _on_ray(workers: Workers, job: Job, shared: Any, items: Sequence, landed: Callable[[int, Any], None],
            threads: int | None, gpu_share: float) -> list:
    import ray

    local = workers.address is None
    if not ray.is_initialized():  # a local Ray's GCS and raylet die with the thread that starts them (Linux's
        # parent-death signal follows the thread): call from a thread that outlives the jobs
        on_sigterm = signal.getsignal(signal.SIGTERM)
        ray.init(address=workers.address, num_cpus=workers.count if local else None, include_dashboard=False,
                 log_to_driver=False, configure_logging=False)
        if threading.current_thread() is threading.main_thread():  # ray.init makes SIGTERM exit on the spot;
            signal.signal(signal.SIGTERM, on_sigterm)  # ours ends a run as Ctrl-C does, cleaning up on the way
    per_job = threads or max(1, (os.cpu_count() or 1) // (workers.count or 1))
    task = ray.remote(num_cpus=1, num_gpus=gpu_share, max_retries=RETRIES)(_run_job)
    shared_ref = ray.put(shared)
    pending = {task.remote(job, shared_ref, item, per_job): index for index, item in enumerate(items)}
    results: dict[int, Any] = {}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        index = pending.pop(done[0])
        results[index] = _result(ray, done[0])
        landed(index, results[index])
    return [results[i] for i in range(len(items))]


def _result(ray: Any, ref: Any) -> Any:
    """A task's result; a user's mistake found inside it is the same one line it is here, not a
    remote traceback."""
    try:
        return ray.get(ref)
    except ray.exceptions.RayTaskError as err:
        if isinstance(err.cause, UserError):
            raise err.cause from None
        raise


def _run_job(job: Job, shared: Any, item: Any, threads: int | None) -> Any:
    return job(shared, item, threads)


class TaskRows:
    """What a person sees of a set of jobs: a line per job as it lands (`label: figure`), above the
    live bars or in the log; with `live`, also a row per job in the live view, "queued or running"
    until it lands, then its figure (jobs on Ray workers have no bars of their own)."""

    def __init__(self, progress: Progress | None, labels: list[str], live: bool):
        self.progress, self.labels = progress, labels
        self.rows = [progress.add_task(label, total=1, stats="queued or running") for label in labels] \
            if progress and live else None

    def landed(self, index: int, figure: str) -> None:
        if self.progress is None:
            return
        if self.rows is not None:
            self.progress.update(self.rows[index], completed=1, stats=figure)
        self.progress.console.print(f"{self.labels[index]}: {figure}")
