"""Cross-validation one job at a time against N Ray workers, side by side in one run:

    .venv/bin/python tools/bench_train.py --data ../shared/data/humanactivity/HumanActivityTrain.mat \
        [--cv loso] [--workers 1,2] [--threads 1] [-- more train options]

Runs `edge-har train --cv CV --workers N` for each N (default flags otherwise), one after another
on this machine, and prints each run's wall time, its ratio to the first, and every fold's
held-out accuracy side by side (equal when the runs used the same --threads: torch's thread count
changes float sums, the worker count does not). --throughput instead times fit's training step as
the model runs it (2-D tensors, (1, k) kernels) and in a 1-D layout of the same arithmetic, on each
device torch sees (the CPU, and CUDA where present): windows per second, their ratio, seconds per
epoch, the GFLOP/s achieved (counted from the model's own MACs per window) and the machine's
float32 matrix-multiply rate, in one run.
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


def matmul_gflops(device: str, size: int = 1024, repeats: int = 20) -> float:
    """The machine's float32 matrix-multiply rate: what a convolution could reach at best."""
    import torch

    a, b = torch.randn(size, size, device=device), torch.randn(size, size, device=device)
    for _ in range(3):
        a @ b
    _sync(device)
    started = time.perf_counter()
    for _ in range(repeats):
        a @ b
    _sync(device)
    return 2 * size**3 * repeats / (time.perf_counter() - started) / 1e9


def _sync(device: str) -> None:
    import torch

    if device == "cuda":
        torch.cuda.synchronize()


def _one_d(model, x):
    """The model's arithmetic on its own parameters with 1-D tensors (N, C, W): the (1, k) kernels
    as k-tap 1-D ones, batch norm and channel dropout on (N, C, W). Tried as a faster training
    layout (issue 35); measured here against the 2-D one the model trains in."""
    import torch
    from torch.nn import functional as F

    def conv(module, h):
        return F.conv1d(h, module.weight.squeeze(2), module.bias, dilation=module.dilation[1])

    z = ((model.features(x) - model.mean) / model.std).transpose(1, 2)
    for block in model.blocks:
        h = z
        for unit in block.units:
            norm = unit.norm
            h = F.batch_norm(conv(unit.conv, h), norm.running_mean, norm.running_var, norm.weight, norm.bias,
                             norm.training, norm.momentum, norm.eps)
            h = F.dropout1d(F.relu(h), unit.dropout.p, unit.dropout.training)
        skipped = z[..., block.context:]
        z = h + (skipped if isinstance(block.skip, torch.nn.Identity) else conv(block.skip, skipped))
    return conv(model.head, z).transpose(1, 2)


def _windows_per_second(data, device: str, layout: str, steps: int, threads: int | None) -> float:
    """fit's training step (a batch drawn and augmented, forward, loss, backward, clipping, Adam),
    `steps` times after two to warm up, in the given layout."""
    import numpy as np
    import torch

    from edge_har.core.config import ModelConfig, TrainConfig
    from edge_har.model.tcn import TCN
    from edge_har.train.training import WindowSampler, training_step, use_threads

    cfg = TrainConfig(wear="rolled", device=device, threads=threads)
    use_threads(threads)
    torch.manual_seed(0)
    model = TCN(ModelConfig(len(data.classes))).to(device).train()
    forward = model if layout == "2-D" else (lambda x: _one_d(model, x))
    sampler = WindowSampler(data, model.receptive_field, cfg, np.random.default_rng(0))
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    for step in range(steps + 2):
        if step == 2:
            _sync(device)
            started = time.perf_counter()
        training_step(model, forward, sampler, optimizer, cfg, torch.device(device))
    _sync(device)
    return steps * cfg.batch_size / (time.perf_counter() - started)


def throughput(args) -> None:
    """The model's 2-D training step against the 1-D layout tried, on each device torch sees, in one run."""
    import torch

    from edge_har.core.config import ModelConfig, TrainConfig
    from edge_har.data.loading import load_data
    from edge_har.model.tcn import macs_per_window

    data = load_data(args.data)
    cfg = TrainConfig()
    flops = 3 * 2 * macs_per_window(ModelConfig(len(data.classes)), cfg.window)  # forward, and backward twice that
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"{data.source}: fit's training step, {cfg.batch_size} windows of {cfg.window} labelled steps, "
          f"{flops / 1e6:.0f} MFLOP per window forward and backward, --threads {args.threads or 'default'}")
    print("| device | layout | windows per second | ratio | seconds per epoch | GFLOP/s | matmul GFLOP/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for device in devices:
        name = torch.cuda.get_device_name() if device == "cuda" else "cpu"
        peak = matmul_gflops(device)
        rates = {layout: _windows_per_second(data, device, layout, args.steps, args.threads)
                 for layout in ("2-D", "1-D")}
        for layout, rate in rates.items():
            print(f"| {name} | {layout} | {rate:,.0f} | {rate / rates['2-D']:.2f} | "
                  f"{cfg.steps_per_epoch * cfg.batch_size / rate:.1f} | {rate * flops / 1e9:.1f} | {peak:.0f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=None)
    parser.add_argument("--cv", default="loso")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--steps", type=int, default=30, help="--throughput: timed training steps per layout")
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
