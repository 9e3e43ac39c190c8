"""Runtime backends behind one interface: raw (N, R, channels) windows in, (N, classes) logits out.

PyTorch fp32, ONNX Runtime (fp32 or int8 QDQ), LiteRT int8 and TFLite-Micro int8. The int8
TFLite models take int8 input and give int8 output; the backend quantizes and dequantizes with
the model's own parameters, exactly as firmware would.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np
import torch

from .deploy import WindowModel


class TorchBackend:
    name = "pytorch_fp32"

    def __init__(self, model: WindowModel, batch: int = 4096):
        self.model, self.batch = model.eval(), batch

    @torch.no_grad()
    def predict(self, windows: np.ndarray) -> np.ndarray:
        return np.concatenate([self.model(torch.from_numpy(windows[i:i + self.batch])).numpy()
                               for i in range(0, len(windows), self.batch)])


class OnnxBackend:
    def __init__(self, path: Path, name: str, batch: int = 4096):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.name, self.batch = name, batch

    def predict(self, windows: np.ndarray) -> np.ndarray:
        return np.concatenate([self.session.run(None, {self.input: windows[i:i + self.batch]})[0]
                               for i in range(0, len(windows), self.batch)])


class _Int8Io:
    """Quantize a float input to the model's int8 input; dequantize its int8 output."""

    def __init__(self, input_details: dict, output_details: dict):
        self.in_scale, self.in_zero = _scale_and_zero(input_details)
        self.out_scale, self.out_zero = _scale_and_zero(output_details)

    def quantize(self, windows: np.ndarray) -> np.ndarray:
        return np.clip(np.round(windows / self.in_scale) + self.in_zero, -128, 127).astype(np.int8)

    def dequantize(self, output: np.ndarray) -> np.ndarray:
        return (output.astype(np.float32) - self.out_zero) * self.out_scale


def _scale_and_zero(details: dict) -> tuple[float, int]:
    """Per-tensor quantization of an interpreter's input or output (LiteRT and TFLM alike)."""
    params = details["quantization_parameters"]
    return float(params["scales"][0]), int(params["zero_points"][0])


class LiteRTBackend:
    name = "litert_int8"

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        with quiet_native_output():  # the XNNPACK delegate announces itself on stderr
            self.interpreter = Interpreter(model_path=str(path), num_threads=1)
            self.interpreter.allocate_tensors()
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.io = _Int8Io(self.input, self.output)

    def predict(self, windows: np.ndarray) -> np.ndarray:
        quantized = self.io.quantize(windows)
        outputs = np.empty((len(windows), self.output["shape"][-1]), dtype=np.float32)
        for i, window in enumerate(quantized):
            self.interpreter.set_tensor(self.input["index"], window[None])
            self.interpreter.invoke()
            outputs[i] = self.io.dequantize(self.interpreter.get_tensor(self.output["index"])[0])
        return outputs


class TflmBackend:
    """The TFLite-Micro interpreter: what a microcontroller runs, on the PC."""

    name = "tflm_int8"

    def __init__(self, path: Path, arena_bytes: int):
        from tflite_micro import runtime

        self.interpreter = runtime.Interpreter.from_file(str(path), arena_size=arena_bytes)
        self.io = _Int8Io(self.interpreter.get_input_details(0), self.interpreter.get_output_details(0))

    def predict(self, windows: np.ndarray) -> np.ndarray:
        outputs = []
        for window in self.io.quantize(windows):
            self.interpreter.set_input(window[None], 0)
            self.interpreter.invoke()
            outputs.append(self.io.dequantize(self.interpreter.get_output(0)[0]))
        return np.stack(outputs)


def tflm_arena_bytes(path: Path, probe: np.ndarray, low: int = 1024, high: int = 1 << 22) -> int:
    """The smallest tensor arena (to 16 bytes) in which TFLite-Micro loads and runs the model."""
    from tflite_micro import runtime

    def fits(size: int) -> bool:
        try:
            with quiet_native_output():  # a too-small arena is reported on stderr by the C++ side
                interpreter = runtime.Interpreter.from_file(str(path), arena_size=size)
                interpreter.set_input(probe, 0)
                interpreter.invoke()
            return True
        except (RuntimeError, ValueError):
            return False

    if not fits(high):
        raise RuntimeError(f"TFLite-Micro cannot run {path} even with a {high}-byte arena")
    while high - low > 16:
        middle = (low + high) // 2
        low, high = (low, middle) if fits(middle) else (middle, high)
    return high


@contextlib.contextmanager
def quiet_native_output():
    """Silence what native libraries print on stdout and stderr (converter progress, C++ logs)."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
        os.dup2(null.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            for fd in saved:
                os.close(fd)
