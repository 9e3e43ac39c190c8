"""The example firmware reading a board's sensor at its own rate, in counts, under QEMU:

    .venv/bin/python tools/board_rates.py RUN --data PATH --subject S [--rates 26,52,104] [--cores m0,rv32]
        [--board-units 0.061mg]

RUN is exported with `--int8`; S is a person RUN did not train on. For each rate and core, `edge-har
firmware --board-rate RATE --board-units U` builds the firmware (the subject's first recording
resampled to RATE, as the sensor's counts, converted to the model's rate and input on the device
by sensor_input.c), QEMU runs it, and `edge-har stream` of the same board (TFLite-Micro as the
host's int8 model, its own float rate converter) compares every class the device reports.
Prints one row per rate and core: readings, model steps, steps the device reported, device vs
host int8, device vs host fp32, device accuracy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from edge_har.device.cores import CORES
from edge_har.device.firmware import device_target

EDGE_HAR = str(Path(sys.executable).with_name("edge-har"))


def run_on_core(run: Path, firmware: Path, core_name: str, summary: Path) -> dict:
    """The firmware under QEMU, its serial line streamed into `edge-har stream`; the stream's summary."""
    qemu = subprocess.Popen(CORES[core_name].command(str(firmware), serial="pty"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    try:
        assert qemu.stdout is not None
        port = re.search(r"(/dev/pts/\d+)", qemu.stdout.readline())
        if port is None:
            raise SystemExit(f"QEMU printed no serial port for {firmware}")
        stream = subprocess.Popen([EDGE_HAR, "stream", "--port", port.group(1), "--model", str(run), "--backend",
                                   "tflm_int8", "--idle-exit", "30", "--summary", str(summary), "--force"],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        while stream.poll() is None and not any(os.path.realpath(fd) == os.path.realpath(port.group(1))
                                                for fd in Path(f"/proc/{stream.pid}/fd").iterdir()):
            time.sleep(0.1)
        if stream.poll() is not None:  # it ended before it opened the port: say why
            raise SystemExit(stream.communicate()[1])
        with open(port.group(1), "wb", buffering=0) as uart:
            uart.write(b"s")  # the firmware starts its replay on any byte
        _, err = stream.communicate()
        if stream.returncode != 0:
            raise SystemExit(err)
    finally:
        qemu.kill()
        qemu.wait()
    return json.loads(summary.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--subject", required=True)
    parser.add_argument("--rates", default="26,52,104")
    parser.add_argument("--cores", default="m0,rv32")
    parser.add_argument("--board-units", default="0.061mg")
    args = parser.parse_args()
    print(f"{args.run}, {args.subject}, counts of {args.board_units}")
    print("| board rate | core | readings | model steps | steps the device reported | device = host int8 | "
          "device = host fp32 | device accuracy |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    with tempfile.TemporaryDirectory() as scratch:
        for rate in args.rates.split(","):
            for core in args.cores.split(","):
                out = Path(scratch) / f"{rate}-{core}"
                subprocess.run([EDGE_HAR, "firmware", str(args.run), "--data", args.data, "--subject", args.subject,
                                "--out", str(out), "--target", core, "--board-rate", rate,
                                "--board-units", args.board_units], check=True, capture_output=True)
                s = run_on_core(args.run, out / device_target(core), core, Path(scratch) / "summary.json")
                accuracy = f"{s['device_accuracy']:.4f}" if s["device_accuracy"] is not None else "-"
                print(f"| {rate} Hz | {CORES[core].title} | {s['samples']:,} | {s['steps']:,} | {s['device_steps']:,} | "
                      f"{s['device_int8_agreement']:.4f} | {s['device_fp32_agreement']:.4f} | {accuracy} |", flush=True)


if __name__ == "__main__":
    main()
