"""Cross-validation one job at a time against N Ray workers, side by side in one run:

    .venv/bin/python tools/bench_train.py --data ../shared/data/humanactivity/HumanActivityTrain.mat \
        [--cv loso] [--workers 1,2] [--threads 1] [-- more train options]

Runs `edge-har train --cv CV --workers N` for each N (default flags otherwise), one after another
on this machine, and prints each run's wall time, its ratio to the first, and every fold's
held-out accuracy side by side (equal when the runs used the same --threads: torch's thread count
changes float sums, the worker count does not). --throughput instead times one training's windows
per second and seconds per epoch on each device torch sees (the CPU, and CUDA where present).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edge_har.core.metrics_report import CrossValidation, MetricsReport
from edge_har.core.reports import read_report

EDGE_HAR = str(Path(sys.executable).with_name("edge-har"))


def _cross_validation(args, workers: int, folder: Path) -> tuple[float, CrossValidation]:
    out = folder / f"workers-{workers}"
    command = [EDGE_HAR, "train", "--data", args.data, "--cv", args.cv, "--workers", str(workers), "--out", str(out),
               *(["--threads", str(args.threads)] if args.threads else []), *args.train_options]
    started = time.monotonic()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    cv = read_report(out / "metrics.json", MetricsReport, "run it again").cv
    if cv is None:
        raise SystemExit(f"{out}: no cross-validation in metrics.json")
    return time.monotonic() - started, cv


def compare_workers(args) -> None:
    counts = [int(n) for n in args.workers.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        runs = [_cross_validation(args, n, Path(folder)) for n in counts]
    first = runs[0][0]
    print(f"{args.data}, --cv {args.cv}, --threads {args.threads or 'default'}: train's wall time (folds and the "
          "final model)")
    print("| workers | wall time | ratio | mean accuracy |")
    print("| ---: | ---: | ---: | ---: |")
    for n, (seconds, cv) in zip(counts, runs):
        print(f"| {n} | {seconds / 60:.1f} min | {seconds / first:.2f} | {cv.mean_accuracy:.4f} |")
    print("\n| held out | " + " | ".join(f"{n} workers" for n in counts) + " |")
    print("| --- |" + " ---: |" * len(counts))
    for i, fold in enumerate(runs[0][1].folds):
        print(f"| {fold.test_subject} | " + " | ".join(f"{cv.folds[i].accuracy:.4f}" for _, cv in runs) + " |")


def throughput(args) -> None:
    import torch

    from edge_har.core.config import ModelConfig, TrainConfig
    from edge_har.data.loading import load_data
    from edge_har.train.training import fit

    data = load_data(args.data)
    people = data.subjects
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print("| device | windows per second | seconds per epoch |")
    print("| --- | ---: | ---: |")
    for device in devices:
        cfg = TrainConfig(epochs=2, wear="rolled", device=device, threads=args.threads)
        started = time.perf_counter()
        fit(data.select(people[:-1]), data.select(people[-1:]), ModelConfig(len(data.classes)), cfg)
        seconds = (time.perf_counter() - started) / cfg.epochs
        name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
        print(f"| {name} | {cfg.steps_per_epoch * cfg.batch_size / seconds:,.0f} | {seconds:.1f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--cv", default="loso")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("train_options", nargs="*", help="more `edge-har train` options, after --")
    args = parser.parse_args()
    if args.throughput:
        throughput(args)
    else:
        if args.data is None:
            raise SystemExit("--data: the data to cross-validate on")
        compare_workers(args)


if __name__ == "__main__":
    main()
