"""Benchmark: what one streamed sample costs with the rolling engine and with the step engine.

    .venv/bin/python tools/bench_stream.py RUN [--samples 3000] [--tflm-samples 300] [--stream]

Both engines run side by side in one process on the same samples of the built-in synthetic
recording (the cost does not depend on the data):
- MACs per sample, from the model's shape (export.json);
- LiteRT int8: the whole per-sample loop as `stream` runs it (quantize, buffer or state
  handling, invoke, dequantize), single-threaded;
- TFLite-Micro int8: the interpreter's invoke alone (what a microcontroller pays per sample),
  and the whole loop through its Python wrapper;
- the streaming rate converter (104 and 25 Hz boards into a 50 Hz model), per model step, fed
  one sample per read (a stream that keeps up) and 64 (a stream that has fallen behind).
Each measurement is the best of `--repeats` interleaved rounds, so a busy machine hurts both
engines alike. Every ratio is printed on a line of its own containing the word "ratio".

With --stream, it also pushes binary frames through a real pseudo-terminal into `stream`, as
fast as it reads them, for each engine (samples per second, against a 1,000 samples/s board).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from functools import partial
from pathlib import Path

import numpy as np
from rich.console import Console

from edge_har.core.resample import StreamResampler
from edge_har.data.loading import load_data
from edge_har.device.emulator import EmulatorOptions, emulate
from edge_har.runtime.engines import make_engine
from edge_har.runtime.export_folder import Exported
from edge_har.runtime.stream import StreamOptions, stream

TARGET = 1000.0
BOARD_RATES = (104, 25)
# A stream that keeps up reads one sample at a time; one that is behind reads what has queued,
# up to 292 binary frames (a pty's 4,095-byte buffer).
BURSTS = (1, 64)


def per_sample_seconds(engine, samples: np.ndarray) -> float:
    engine.reset(samples[0])
    started = time.perf_counter()
    for sample in samples:
        engine.predict(sample)
    return (time.perf_counter() - started) / len(samples)


def resample_seconds(samples: np.ndarray, from_hz: float, to_hz: float, burst: int) -> float:
    """Per board sample: the streaming rate converter alone (what `stream` adds for a board at
    another rate), fed `burst` samples at a time, as `stream` feeds it what one read returns."""
    converter = StreamResampler(from_hz, to_hz, samples.shape[1])
    converter.reset(samples[0])
    bursts = [samples[i:i + burst] for i in range(0, len(samples), burst)]
    started = time.perf_counter()
    for block in bursts:
        converter.push(block)
    return (time.perf_counter() - started) / len(samples)


def invoke_seconds(interpreter, count: int) -> float:
    started = time.perf_counter()
    for _ in range(count):
        interpreter.invoke()
    return (time.perf_counter() - started) / count


def best_of(repeats: int, measures: dict) -> dict:
    """Interleave the measurements `repeats` times and keep each one's fastest round."""
    best = {name: float("inf") for name in measures}
    for _ in range(repeats):
        for name, measure in measures.items():
            best[name] = min(best[name], measure())
    return best


def engine_costs(export: Exported, samples: np.ndarray, tflm_samples: int, repeats: int) -> dict:
    rolling_litert, step_litert, rolling_tflm, step_tflm = (
        make_engine(engine, backend, export)
        for backend in ("litert_int8", "tflm_int8") for engine in ("rolling", "step"))
    short = samples[:tflm_samples]
    return best_of(repeats, {
        "litert_rolling": lambda: per_sample_seconds(rolling_litert, samples),
        "litert_step": lambda: per_sample_seconds(step_litert, samples),
        "tflm_loop_rolling": lambda: per_sample_seconds(rolling_tflm, short),
        "tflm_loop_step": lambda: per_sample_seconds(step_tflm, short),
        "tflm_invoke_rolling": lambda: invoke_seconds(rolling_tflm.backend.interpreter, tflm_samples),
        "tflm_invoke_step": lambda: invoke_seconds(step_tflm.backend.interpreter, tflm_samples),
        **{f"resample_{hz}_burst_{burst}": partial(resample_seconds, samples, hz, 50, burst)
           for hz in BOARD_RATES for burst in BURSTS},
    })


def print_engine_costs(export: Exported, costs: dict) -> None:
    report = export.report
    macs_rolling, macs_step = report.macs_per_inference, report.macs_per_step_streaming
    print(f"Model: R = {export.receptive_field}, {report.params} parameters")
    print(f"MACs per sample: rolling {macs_rolling:,}, step {macs_step:,}")
    print(f"MACs ratio rolling/step: {macs_rolling / macs_step:.1f}x")
    rows = [("LiteRT int8 whole loop", "litert"), ("TFLite-Micro int8 invoke", "tflm_invoke"),
            ("TFLite-Micro int8 whole loop", "tflm_loop")]
    for label, key in rows:
        rolling, step = costs[f"{key}_rolling"], costs[f"{key}_step"]
        print(f"{label} per sample: rolling {rolling * 1e6:.1f} us, step {step * 1e6:.1f} us")
        print(f"{label} ratio rolling/step: {rolling / step:.1f}x")
    for board_hz in BOARD_RATES:
        for burst in BURSTS:
            per_sample = costs[f"resample_{board_hz}_burst_{burst}"]
            per_step = per_sample * board_hz / 50  # board samples per model step, times the cost of one
            print(f"Streaming resampler, {board_hz} Hz board to a 50 Hz model, {burst} samples per read: "
                  f"{per_sample * 1e6:.2f} us per board sample, {per_step * 1e6:.2f} us per model step, "
                  f"ratio to the LiteRT step engine's loop per step: {per_step / costs['litert_step']:.1%}")


def stream_throughput(run: Path, samples: int, engine: str) -> dict:
    data = load_data(None)
    recording = data.recordings[0]
    recording.x, recording.y = recording.x[:samples], recording.y[:samples]
    data.recordings = [recording]
    with tempfile.TemporaryDirectory() as tmp:
        link = Path(tmp) / "tty"
        ready = threading.Event()
        board = threading.Thread(target=emulate, daemon=True, kwargs={
            "opts": EmulatorOptions(data, link, fmt="binary", speed=0), "ready": lambda name: ready.set()})
        board.start()
        ready.wait(10)
        summary = stream(StreamOptions(str(link), run, engine=engine, compare_fp32=False, live=False,
                                       idle_exit_s=1.0, summary=Path(tmp) / "summary.json"), Console(quiet=True))
        board.join(15)
    return summary


def print_stream_throughput(run: Path, samples: int) -> None:
    for engine in ("rolling", "step"):
        summary = stream_throughput(run, samples, engine)
        busy = summary["seconds"] - 1.0  # the stream waits 1 s of silence before it stops
        rate = summary["samples"] / busy
        print(f"stream, {engine} engine, int8 only: {summary['samples']} samples in {busy:.2f} s = {rate:.0f} "
              f"samples/s (target {TARGET:.0f}/s); lost {summary['lost_samples']}, bad frames {summary['bad_frames']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a training run with an int8 export (step models included)")
    parser.add_argument("--samples", type=int, default=3000, help="samples per LiteRT round")
    parser.add_argument("--tflm-samples", type=int, default=300, help="samples per TFLite-Micro round")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved rounds; the fastest counts")
    parser.add_argument("--stream", action="store_true", help="also measure `stream` through a pseudo-terminal")
    args = parser.parse_args()
    export = Exported.open(args.run)
    samples = load_data(None).recordings[0].x[:args.samples].astype(np.float32)
    print_engine_costs(export, engine_costs(export, samples, args.tflm_samples, args.repeats))
    if args.stream:
        print_stream_throughput(args.run, 20000)


if __name__ == "__main__":
    main()
