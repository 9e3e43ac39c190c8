"""Streaming engines: how a live stream turns one new sample into that step's logits.

`rolling` keeps the last R samples and runs the window model over all of them at every
sample (the reference). `step` runs the step model: one new column per layer, the states
kept between samples. Both follow the start-of-stream rule (the first sample stands for
everything before it) and the same three calls, so `stream` does not care which it has.
"""

from __future__ import annotations

import numpy as np

from ..core.errors import UserError
from .backends import LiteRTBackend, LiteRTStepBackend, OnnxBackend, OnnxStepBackend, TflmBackend, TflmStepBackend
from .export_folder import FP32_ONNX, INT8_ONNX, INT8_TFLITE, STEP_FP32_ONNX, STEP_INT8_ONNX, STEP_INT8_TFLITE, Exported

ENGINES = ("rolling", "step")
INT8_BACKENDS = ("onnx_int8", "litert_int8", "tflm_int8")


class RollingBuffer:
    """The last R samples, as one contiguous (R, channels) window, O(channels) per push."""

    def __init__(self, receptive_field: int, channels: int):
        self.r = receptive_field
        self.data = np.zeros((2 * receptive_field, channels), dtype=np.float32)
        self.start = 0

    def reset(self, first: np.ndarray) -> None:
        self.data[:] = first
        self.start = 0

    def push(self, sample: np.ndarray) -> None:
        """Write each sample twice, R apart, so the newest R samples are always contiguous."""
        self.data[self.start] = sample
        self.data[self.start + self.r] = sample
        self.start = (self.start + 1) % self.r

    def window(self) -> np.ndarray:
        return self.data[self.start:self.start + self.r]


class RollingEngine:
    def __init__(self, backend, receptive_field: int, channels: int):
        self.backend = backend
        self.buffer = RollingBuffer(receptive_field, channels)

    def reset(self, first: np.ndarray) -> None:
        self.buffer.reset(first)

    def skip(self, sample: np.ndarray) -> None:
        """Take a sample without predicting (filling lost samples)."""
        self.buffer.push(sample)

    def predict(self, sample: np.ndarray) -> np.ndarray:
        self.buffer.push(sample)
        return self.backend.predict(self.buffer.window()[None])[0]


class StepEngine:
    def __init__(self, backend):
        self.backend = backend

    def reset(self, first: np.ndarray) -> None:
        self.backend.reset(first)

    def skip(self, sample: np.ndarray) -> None:
        self.backend.step(sample)

    def predict(self, sample: np.ndarray) -> np.ndarray:
        return self.backend.step(sample)


def window_backend(name: str, export: Exported, threads: int = 1):
    """An exported window model by backend name: onnx_fp32, onnx_int8, litert_int8 or tflm_int8;
    `threads`: LiteRT's interpreters side by side on many windows."""
    return {
        "onnx_fp32": lambda: OnnxBackend(export.path(FP32_ONNX), name),
        "onnx_int8": lambda: OnnxBackend(export.path(INT8_ONNX), name),
        "litert_int8": lambda: LiteRTBackend(export.path(INT8_TFLITE), threads),
        "tflm_int8": lambda: TflmBackend(export.path(INT8_TFLITE), export.tflm_arena("rolling")),
    }[name]()


def step_backend(name: str, export: Exported):
    """An exported step model by backend name, like `window_backend`."""
    r = export.receptive_field
    return {
        "onnx_fp32": lambda: OnnxStepBackend(export.path(STEP_FP32_ONNX), name, r),
        "onnx_int8": lambda: OnnxStepBackend(export.path(STEP_INT8_ONNX), name, r),
        "litert_int8": lambda: LiteRTStepBackend(export.path(STEP_INT8_TFLITE), r),
        "tflm_int8": lambda: TflmStepBackend(export.path(STEP_INT8_TFLITE), export.tflm_arena("step"), r),
    }[name]()


def check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise UserError(f"--engine must be one of {', '.join(ENGINES)}, not {engine!r}")


def make_engine(engine: str, backend: str, export: Exported):
    """A stream's engine around the named exported model."""
    check_engine(engine)
    export.require_int8(engine)
    if engine == "step":
        return StepEngine(step_backend(backend, export))
    return RollingEngine(window_backend(backend, export), export.receptive_field, export.readings)


def int8_engine(engine: str, backend: str, export: Exported):
    """The int8 model a stream runs, by engine and backend name."""
    if backend not in INT8_BACKENDS:
        raise UserError(f"--backend must be one of {', '.join(INT8_BACKENDS)}, not {backend!r}")
    return make_engine(engine, backend, export)
