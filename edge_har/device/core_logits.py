"""The C step engine's integer logits as a core computes them: logits_CORE.elf
(firmware_host/device/logits.c) under QEMU, fed readings over its serial line, one step each."""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..runtime.backends import TflmStepBackend
from ..runtime.export_folder import Exported
from .cores import Core
from .firmware import FIRMWARE
from .qemu import exchange

SECONDS_PER_STEP = 0.05  # under QEMU; generous, so that a busy machine is not a failure


def core_logits(core: Core, export_folder: Path, readings: np.ndarray, bits: int, classes: int) -> np.ndarray:
    """[steps, classes] integer logits of the engine in `export_folder` on `core`, streamed from the
    first of `readings` ([steps, 3], in the model's units)."""
    with tempfile.TemporaryDirectory() as folder:
        elf = Path(folder) / f"logits_{core.name}.elf"
        subprocess.run(["make", "-s", "-C", str(FIRMWARE), f"BUILD={folder}", f"ENGINE={export_folder.resolve()}",
                        f"RECORDING={folder}", str(elf)], check=True, capture_output=True, text=True)
        dtype = np.dtype("<i2") if bits == 16 else np.dtype("i1")
        request = np.ascontiguousarray(readings[:, :3], dtype="<f4").tobytes()
        reply = exchange(core.command(str(elf)), request, len(readings) * classes * dtype.itemsize,
                         60 + SECONDS_PER_STEP * len(readings), core.title)
    return np.frombuffer(reply, dtype=dtype).reshape(len(readings), classes)


def tflm_logits(export: Exported, x: np.ndarray) -> np.ndarray:
    """[steps, classes] integer logits of TFLite-Micro on the export's step_int8.tflite (what the
    engine was generated from), streamed from the first of `x` (the axes; with the model's memory
    computed here, as the engine computes it on the core)."""
    x = export.model_readings(x[:, :3])
    tflm = TflmStepBackend(export.folder / "step_int8.tflite", export.tflm_arena("step"), export.receptive_field)
    tflm.reset(x[0])
    rows = []
    for sample in x:
        tflm.step(sample)
        rows.append(tflm.interpreter.get_output(0)[0].copy())
    return np.array(rows)
