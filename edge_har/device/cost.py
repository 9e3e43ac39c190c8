"""What an export's C step engine costs on a Cortex-M4: flash, from `arm-none-eabi-size` of the
engine with the model's constants (compiled for the M4 at -O2), and instructions per sample, from
firmware_host/device/bench_mps2.c stepping the engine through a recording under QEMU's mps2-an386
with `-icount shift=0` (one instruction per virtual nanosecond). The bench times the steps with the
SysTick and calibrates its instructions per tick with a loop of known length in the same run.
Host side only: make, the cross compiler and QEMU, no torch."""

from __future__ import annotations

import queue
import re
import shutil
import subprocess
import tempfile
import threading
from pathlib import Path

import numpy as np

from .firmware import ARM_GCC, FIRMWARE, write_recording

QEMU = "qemu-system-arm"
QEMU_SECONDS = 120  # a bench of 2,000 samples takes about a second
BENCH_SAMPLES = 2000  # what bench_mps2.c steps through at most


def missing_tools() -> str | None:
    """Why the cost cannot be measured here, or None when it can."""
    absent = [tool for tool in (ARM_GCC, QEMU) if shutil.which(tool) is None]
    if not absent:
        return None
    return (f"{' and '.join(absent)} not installed (`apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi "
            "qemu-system-arm`)")


def cortex_m4_cost(export_folder: Path, x: np.ndarray, labels: np.ndarray, classes: list[str],
                   rate_hz: float | None, macs_per_step: int | None = None) -> dict:
    """Flash bytes and instructions per sample of `export_folder`'s step_engine.c on a Cortex-M4,
    stepping through the readings `x` (at most BENCH_SAMPLES of them)."""
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        write_recording(x, labels, classes, rate_hz, None, work)
        subprocess.run(["make", "-s", "-C", str(FIRMWARE), f"BUILD={work}", f"ENGINE={export_folder.resolve()}",
                        f"RECORDING={work}", str(work / "bench_mps2.elf"), str(work / "step_engine_m4.o")],
                       check=True, capture_output=True, text=True)
        size = subprocess.run(["arm-none-eabi-size", str(work / "step_engine_m4.o")], capture_output=True, text=True,
                              check=True).stdout.splitlines()[1].split()
        found = _bench_line(work / "bench_mps2.elf")
    per_tick = found["calibration_instructions"] / found["calibration_ticks"]
    per_sample = found["step_ticks"] * per_tick / found["steps"]
    cost = {"flash_bytes": int(size[0]) + int(size[1]), "text_bytes": int(size[0]), "data_bytes": int(size[1]),
            "instructions_per_sample": round(per_sample), "samples": found["steps"],
            "instructions_per_systick": round(per_tick, 2),
            "how": "arm-none-eabi-gcc -O2 -mcpu=cortex-m4; qemu-system-arm -M mps2-an386 -icount shift=0"}
    if macs_per_step:
        cost["instructions_per_mac"] = round(per_sample / macs_per_step, 2)
    return cost


def _bench_line(elf: Path) -> dict[str, int]:
    """Run the bench under QEMU until it prints its one line (it then idles; QEMU is stopped)."""
    qemu = subprocess.Popen([QEMU, "-M", "mps2-an386", "-nographic", "-monitor", "none", "-serial", "stdio",
                             "-icount", "shift=0", "-kernel", str(elf)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    lines: queue.Queue[str] = queue.Queue()
    output = qemu.stdout
    assert output is not None  # stdout=PIPE

    def forward() -> None:
        for line in output:
            lines.put(line)

    threading.Thread(target=forward, daemon=True).start()
    try:
        while True:
            line = lines.get(timeout=QEMU_SECONDS)
            if "step_ticks=" in line:
                return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line)}
    except queue.Empty:
        raise RuntimeError(f"the Cortex-M4 bench printed nothing in {QEMU_SECONDS} s under QEMU") from None
    finally:
        qemu.kill()
        qemu.wait()
