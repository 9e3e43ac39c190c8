"""A held-out recording streamed from an emulated board at several sample rates (and in m/s2)
through a pseudo-terminal into a run's int8 step model, as `edge-har stream` runs it:

    .venv/bin/python tools/rate_table.py RUN [--data PATH --subject NAME]

Prints the board rate, the samples sent, the model steps, the rate conversion, and int8 and fp32
accuracy against the labels at the model's rate. The last column plays the same board without
declaring its rate and units (`emulate --no-declare`): stream then takes them to be the model's and
converts nothing, and int8 is scored against the board's own labels. Use a subject the run did not
train on.
"""

from __future__ import annotations

import argparse
import tempfile
import threading
from pathlib import Path

from rich.console import Console

from edge_har.data.dataset import at_rate
from edge_har.data.loading import load_data
from edge_har.device.emulator import EmulatorOptions, emulate
from edge_har.runtime.stream import StreamOptions, stream

BOARDS = [(None, None), (25, None), (52, None), (100, None), (104, None), (None, "m/s2")]  # (rate, units)


def streamed(run: Path, data, units: str | None, folder: Path, declare: bool = True) -> dict:
    link, ready = folder / "tty", threading.Event()
    board = threading.Thread(target=emulate, daemon=True, kwargs={
        "opts": EmulatorOptions(data, link, speed=0, units=units, declare=declare, linger_s=1),
        "ready": lambda name: ready.set()})
    board.start()
    ready.wait(30)
    summary = stream(StreamOptions(str(link), run, live=False, idle_exit_s=1.0, duration=1800,
                                   summary=folder / "summary.json"), Console(quiet=True))
    board.join(30)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path, help="a training run with an int8 export")
    parser.add_argument("--data", help="recordings (default: the built-in synthetic set)")
    parser.add_argument("--subject", default="sim6", help="the held-out subject to play (default: sim6)")
    args = parser.parse_args()
    recording = load_data(args.data).select([args.subject])
    print("| board | samples sent | model steps | conversion | int8 accuracy | fp32 accuracy | int8/fp32 agreement "
          "| int8 accuracy without conversion |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for rate, units in BOARDS:
            data = at_rate(recording, rate)[0] if rate else recording
            s = streamed(args.run, data, units, Path(tmp))
            unconverted = streamed(args.run, data, units, Path(tmp), declare=False)
            board = f"{s['board_rate_hz']:g} Hz, {s['board_units']}"
            print(f"| {board} | {s['samples']} | {s['steps']} | {s['rate_conversion'] or 'none'} | "
                  f"{s['int8_accuracy']:.4f} | {s['fp32_accuracy']:.4f} | {s['int8_fp32_agreement']:.4f} | "
                  f"{unconverted['int8_accuracy']:.4f} |", flush=True)


if __name__ == "__main__":
    main()
