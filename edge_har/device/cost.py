"""What an export's C step engine costs on a core: flash, from `size` of the engine with the
model's constants (compiled for the core at -O2), and instructions per sample, from
firmware_host/device/bench.c stepping the engine through a recording under QEMU with
`-icount shift=0` (one instruction per virtual nanosecond). The bench times the steps with a
counter of the core and calibrates its instructions per tick with a loop of known length in the
same run. QEMU counts instructions, not cycles: on silicon, wait states, memory latency and
multi-cycle instructions (a load of two words, a 64-bit multiply) add to them.
Host side only: make, the cross compilers and QEMU, no torch."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..core.export_report import CoreCost
from .cores import Core
from .firmware import FIRMWARE, write_recording
from .qemu import first_line

BENCH_SAMPLES = 2000  # what bench.c steps through at most
PORTABLE = "EDGE_HAR_ENGINE_PORTABLE"  # keeps a DSP core on the portable path (c/fixed_point.c)
QEMU_SECONDS = 300  # a bench of 2,000 samples takes a few seconds


def core_cost(core: Core, export_folder: Path, x: np.ndarray, labels: np.ndarray, classes: list[str],
              rate_hz: float | None, macs_per_step: int | None = None, portable: bool = False) -> CoreCost:
    """Flash bytes and instructions per sample of `export_folder`'s step_engine.c on `core`,
    stepping through the readings `x` (at most BENCH_SAMPLES of them); `portable`: the portable C
    path even where the core has the DSP extension."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        write_recording(x[:BENCH_SAMPLES], labels[:BENCH_SAMPLES], classes, rate_hz, None, work)  # the flash holds it
        bench, engine = work / f"bench_{core.name}.elf", work / f"step_engine_{core.name}.o"
        subprocess.run(["make", "-s", "-C", str(FIRMWARE), f"BUILD={work}", f"ENGINE={export_folder.resolve()}",
                        f"RECORDING={work}", *([f"ENGINE_FLAGS=-D{PORTABLE}"] if portable else []), str(bench),
                        str(engine)], check=True, capture_output=True, text=True)
        size = _size(core, engine)
        line = first_line(core.command(str(bench), icount=True), "step_ticks=", QEMU_SECONDS, core.title)
    found = {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}
    per_tick = found["calibration_instructions"] / found["calibration_ticks"]
    per_sample = found["step_ticks"] * per_tick / found["steps"]
    return CoreCost(core=core.title, dsp_path=core.dsp and not portable, flash_bytes=size[0] + size[1],
                    text_bytes=size[0], data_bytes=size[1], instructions_per_sample=round(per_sample),
                    quantize_instructions_per_sample=round(found["quantize_ticks"] * per_tick / found["steps"]),
                    samples=found["steps"], instructions_per_tick=round(per_tick, 2),
                    how=f"{core.compiler} -O2 ({core.name}); {' '.join(core.qemu)} -icount shift=0",
                    instructions_per_mac=round(per_sample / macs_per_step, 2) if macs_per_step else None)


def duty_cycle(instructions_per_sample: float, rate_hz: float, clock_hz: float) -> float:
    """The share of a core at `clock_hz` the engine takes at `rate_hz`, counting one cycle per
    instruction (a floor: silicon adds wait states and multi-cycle instructions)."""
    return instructions_per_sample * rate_hz / clock_hz


def _size(core: Core, engine: Path) -> tuple[int, int]:
    """(text, data) bytes of an object file, by the core's own `size`."""
    tool = core.compiler.removesuffix("gcc") + "size"
    fields = subprocess.run([tool, str(engine)], capture_output=True, text=True, check=True).stdout.splitlines()[1]
    text, data = fields.split()[:2]
    return int(text), int(data)
