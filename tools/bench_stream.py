"""Benchmark: can `stream` keep up with a fast board? Binary frames through a real pseudo-terminal
into the int8 model, as fast as the stream reads them, with and without the fp32 comparison.

    .venv/bin/python tools/bench_stream.py RUN [--samples 20000]

Prints samples per second for each configuration, its ratio to the 1,000 samples/s target,
and the drops (which must be zero: the emulator has no faults here).
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

from rich.console import Console

from edge_har.data import load_data
from edge_har.emulator import EmulatorOptions, emulate
from edge_har.stream import StreamOptions, stream

TARGET = 1000.0


def measure(run: Path, samples: int, compare_fp32: bool) -> dict:
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
        summary = stream(StreamOptions(str(link), run, compare_fp32=compare_fp32, live=False, idle_exit_s=1.0),
                         Console(quiet=True))
        board.join(15)
    summary["idle_tail_s"] = 1.0
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a training run with an int8 export")
    parser.add_argument("--samples", type=int, default=20000)
    args = parser.parse_args()
    for compare in (False, True):
        summary = measure(args.run, args.samples, compare)
        busy = summary["seconds"] - summary["idle_tail_s"]  # the stream waits 1 s of silence before it stops
        rate = summary["samples"] / busy
        label = "int8 + fp32 comparison" if compare else "int8 only"
        print(f"{label}: {summary['samples']} samples in {busy:.2f} s = {rate:.0f} samples/s; "
              f"ratio to the {TARGET:.0f}/s target {rate / TARGET:.2f}; lost {summary['lost_samples']}, "
              f"bad frames {summary['bad_frames']}")


if __name__ == "__main__":
    main()
