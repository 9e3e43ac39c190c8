"""The exported C step engine (c_engine.py) as a backend: compiled with the host C compiler into
a shared library and called through ctypes, sample by sample, like every other step backend."""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from ..codegen import ENGINE_C
from ..core.export_report import CEngine
from ..runtime.backends import StepBackend

# As firmware_host/Makefile builds the device side: a warning in generated C is a bug in the generator
HOST_FLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror")

C_ENGINE = "c_int8"
HOST_RUN = Path(__file__).parent / "c" / "engine_run.c"  # a whole recording in one call (host only)


def c_compiler() -> str | None:
    """The host C compiler ($CC, else cc or gcc), or None where there is none."""
    for name in (os.environ.get("CC"), "cc", "gcc"):
        if name and shutil.which(name):
            return name
    return None


class CStepBackend(StepBackend):
    """step_engine.c, built here; it quantizes each reading itself, as firmware would."""

    name = C_ENGINE

    def __init__(self, export_folder: Path, engine: CEngine, receptive_field: int):
        compiler = c_compiler()
        if compiler is None:
            raise RuntimeError("no C compiler on this machine (set $CC, or install gcc)")
        with tempfile.TemporaryDirectory() as scratch:
            library = Path(scratch) / "libedge_har_engine.so"
            subprocess.run([compiler, *HOST_FLAGS, "-shared", "-fPIC", "-I", str(export_folder), "-o", str(library),
                            str(export_folder / ENGINE_C), str(HOST_RUN), "-lm"], check=True, capture_output=True)
            self.library = ctypes.CDLL(str(library))  # stays mapped once the file is gone
        self.engine = ctypes.create_string_buffer(self.library.edge_har_engine_bytes())
        self.reading = (ctypes.c_float * engine.readings)()
        self.dtype = np.int16 if engine.bits == 16 else np.int8
        value = ctypes.c_int16 if self.dtype == np.int16 else ctypes.c_int8
        self.sample = (value * engine.channels)()
        self.logits = (value * engine.class_count)()
        scale, zero_point = engine.output_scale, engine.output_zero_point
        self.scale, self.offset = np.float32(scale), np.float32(-zero_point * scale)  # as _IntegerIo dequantizes
        self.receptive_field = receptive_field

    def clear(self) -> None:
        self.library.edge_har_engine_clear(self.engine)

    def reset(self, first: np.ndarray) -> None:
        self._quantize(first)
        self.library.edge_har_engine_reset(self.engine, self.sample)

    def step(self, sample: np.ndarray) -> np.ndarray:
        self._quantize(sample)
        self.library.edge_har_engine_step(self.engine, self.sample, self.logits)
        return np.ctypeslib.as_array(self.logits) * self.scale + self.offset

    def run(self, x: np.ndarray) -> np.ndarray:
        """(T, classes) logits of one whole recording, streamed from its first sample in one call: the
        engine takes the axes and computes the rest of the model's readings (its memory) itself."""
        readings = np.ascontiguousarray(x[:, :3], dtype=np.float32)
        logits = np.empty((len(x), len(self.logits)), dtype=self.dtype)
        self.library.edge_har_host_run(self.engine, readings.ctypes.data_as(ctypes.c_void_p), ctypes.c_long(len(x)),
                                       logits.ctypes.data_as(ctypes.c_void_p))
        return logits * self.scale + self.offset

    def integer_logits(self) -> np.ndarray:
        """The last step's integer logits (int8, or int16 in a 16x8 model), as the engine returned them."""
        return np.ctypeslib.as_array(self.logits).copy()

    def decoded_class(self) -> int:
        """The last step's class after the engine's own decoder (an export that decodes)."""
        return int(self.library.edge_har_engine_decoded_class(self.engine))

    def _quantize(self, sample: np.ndarray) -> None:
        self.reading[:] = [float(v) for v in sample[:len(self.reading)]]
        self.library.edge_har_engine_quantize_reading(self.reading, self.sample)
