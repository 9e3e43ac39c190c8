"""What the C step engine costs on a Cortex-M4, beside TFLite-Micro's arena for the same model:

    .venv/bin/python tools/bench_engine.py RUN [--data PATH --subject S]

RUN is exported with `--int8 --activations int8` (it holds step_engine.c). Needs
arm-none-eabi-gcc and qemu-system-arm. Prints the engine's RAM (its state struct, as export.json
says and the compiler's sizeof checks in the tests), its flash (`arm-none-eabi-size` of the engine
with the model's constants, compiled for the Cortex-M4 at -O2), and instructions per sample: the
engine steps through 2,000 samples of a recording under QEMU's mps2-an386 with `-icount shift=0`
(one instruction per virtual nanosecond), timed by the SysTick, whose instructions per tick a
loop of known length calibrates in the same run.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import tempfile
from pathlib import Path

from edge_har.data import at_rate, load_data
from edge_har.exported import Exported
from edge_har.firmware import FIRMWARE, write_recording


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", default=None)
    parser.add_argument("--subject", default=None)
    args = parser.parse_args()
    export = Exported.open(args.run)
    engine = export.report["step"].get("c_engine")
    if engine is None:
        raise SystemExit(f"{args.run}: no C step engine; export it with `--int8 --activations int8`")
    data = load_data(args.data)
    data, _ = at_rate(data.select([args.subject or data.subjects[-1]]), export.sample_rate_hz)
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        rec = data.recordings[0]
        write_recording(rec.x, rec.y, data.classes, export.sample_rate_hz, None, work, synthetic=data.synthetic)
        make = ["make", "-s", "-C", str(FIRMWARE), f"BUILD={work}", f"ENGINE={export.folder.resolve()}",
                f"RECORDING={work}"]
        subprocess.run([*make, str(work / "bench_mps2.elf"), str(work / "step_engine_m4.o")], check=True)
        size = subprocess.run(["arm-none-eabi-size", str(work / "step_engine_m4.o")], capture_output=True, text=True,
                              check=True).stdout.splitlines()[1].split()
        qemu = subprocess.Popen(["qemu-system-arm", "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial",
                                 "stdio", "-icount", "shift=0", "-kernel", str(work / "bench_mps2.elf")],
                                stdout=subprocess.PIPE, text=True)
        try:
            line = next(line for line in qemu.stdout if "step_ticks=" in line)
        finally:
            qemu.kill()
            qemu.wait()
    found = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}
    per_tick = found["calibration_instructions"] / found["calibration_ticks"]
    per_sample = found["step_ticks"] * per_tick / found["steps"]
    macs = json.loads((args.run / "metrics.json").read_text())["macs_per_step"]
    arena = export.report["step"]["tflite_int8"]["tflm_arena_bytes"]
    print(f"{args.run}: the C step engine on a Cortex-M4 (mps2-an386 under QEMU)")
    print(f"RAM:   {engine['ram_bytes']:,} bytes (states {engine['state_bytes']:,}, scratch {engine['scratch_bytes']}), "
          f"{engine['ram_bytes'] / arena:.0%} of TFLite-Micro's {arena:,}-byte arena for the same step model")
    print(f"flash: {int(size[0]) + int(size[1]):,} bytes (text {int(size[0]):,}, data {size[1]}): code, weights and "
          "constants")
    print(f"instructions per sample: {per_sample:,.0f} ({per_sample / macs:.1f} per MAC of {macs:,}), "
          f"over {found['steps']} samples; {per_tick:.1f} instructions per SysTick tick (calibrated)")


if __name__ == "__main__":
    main()
