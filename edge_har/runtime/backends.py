"""Runtime backends. Window backends: raw (N, R, channels) windows in, (N, classes) logits out.
Step backends: `reset(first_sample)` applies the start-of-stream rule, then `step(sample)`
returns that step's logits and keeps each layer's state (see step_model.py).

ONNX Runtime (fp32 or int8 QDQ), LiteRT int8 and TFLite-Micro int8; none of them needs torch
(the PyTorch reference is in torch_backends.py). The int8 TFLite models take int8 input and
give int8 output; the backend quantizes and dequantizes with the model's own parameters,
exactly as firmware would. The int8 step models' state outputs
have their state inputs' quantization, so states go back in as int8 bytes, unconverted.
"""

from __future__ import annotations

import contextlib
import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.features import MAGNITUDE_EPS, defined_readings, with_magnitude
from ..core.native import quiet_native_output
from .adapters import litert_invoke, tflm_input_count
from .export_folder import export_command


@contextlib.contextmanager
def model_file(path: Path) -> Iterator[None]:
    """Loading a model file: a damaged or foreign one is one line naming it and the fix."""
    try:
        yield
    except Exception as err:  # noqa: BLE001 (each runtime raises its own kinds on a damaged file)
        reason = (str(err).strip().splitlines() or [type(err).__name__])[0][:200]
        raise UserError(f"{path}: damaged or not a model this backend runs ({reason}); export it again "
                        f"({export_command(path.parent.parent)})") from None


class OnnxBackend:
    def __init__(self, path: Path, name: str, batch: int = 4096):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        with model_file(path):
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.input = self.session.get_inputs()[0].name
        self.name, self.batch = name, batch

    def predict(self, windows: np.ndarray) -> np.ndarray:
        windows = defined_readings(windows)
        return np.concatenate([self.session.run(None, {self.input: windows[i:i + self.batch]})[0]
                               for i in range(0, len(windows), self.batch)])


class _IntegerIo:
    """Quantize a float input to the model's integer input (int8, or int16 in a 16x8 model);
    dequantize its integer output.

    A model whose input has one channel more than the readings takes |a| last (deploy.py): it
    is appended here, before quantizing, as firmware would. Python-level overhead is most of the
    cost on small inputs, and a stream pays it on every sample: windows go through plain ufuncs
    (no np.clip or np.round wrappers), and one sample through plain Python, which is quicker
    still for three values. Both round half to even.
    """

    def __init__(self, input_details: dict, output_details: dict, readings: int = 3):
        self.magnitude = int(input_details["shape"][-1]) == readings + 1
        self.dtype = np.dtype(input_details["dtype"])
        limits = np.iinfo(self.dtype)
        self.low, self.high = int(limits.min), int(limits.max)
        in_scale, in_zero = _scale_and_zero(input_details)
        out_scale, out_zero = _scale_and_zero(output_details)
        self.in_inverse, self.in_zero = np.float32(1.0 / in_scale), np.float32(in_zero)
        self.sample_inverse, self.sample_zero = float(self.in_inverse), float(in_zero)  # plain floats for one sample
        self.out_scale, self.out_offset = np.float32(out_scale), np.float32(-out_zero * out_scale)

    def quantize(self, values: np.ndarray) -> np.ndarray:
        values = defined_readings(values)
        if self.magnitude:
            values = with_magnitude(values)
        return np.maximum(np.minimum(np.rint(values * self.in_inverse + self.in_zero), self.high), self.low).astype(self.dtype)

    def quantize_sample(self, sample: np.ndarray) -> list[int]:
        inverse, zero = self.sample_inverse, self.sample_zero
        values = [v if v == v else 0.0 for v in sample.tolist()]  # defined_readings: NaN reads as 0
        if self.magnitude:
            values.append(math.sqrt(sum(v * v for v in values) + MAGNITUDE_EPS))
        low, high = self.low, self.high
        return [round(min(high, max(low, v * inverse + zero))) for v in values]  # clamped first: an infinity saturates

    def dequantize(self, output: np.ndarray) -> np.ndarray:
        return output * self.out_scale + self.out_offset


def _scale_and_zero(details: dict) -> tuple[float, int]:
    """Per-tensor quantization of an interpreter's input or output (LiteRT and TFLM alike)."""
    params = details["quantization_parameters"]
    return float(params["scales"][0]), int(params["zero_points"][0])


class _LiteRT:
    """A single-threaded LiteRT interpreter with numpy views of its inputs and outputs, invoked
    through `adapters.litert_invoke` (a set/get call per tensor costs the step model, with 18
    of them, more than its invoke does)."""

    def __init__(self, path: Path):
        from ai_edge_litert.interpreter import Interpreter

        with quiet_native_output(), model_file(path):  # the XNNPACK delegate announces itself on stderr
            self.interpreter = Interpreter(model_path=str(path), num_threads=1)  # kept: it owns the delegates
            self.interpreter.allocate_tensors()
        self.input_details = self.interpreter.get_input_details()
        self.output_details = self.interpreter.get_output_details()
        self.inputs = [self.interpreter.tensor(d["index"])() for d in self.input_details]
        self.outputs = [self.interpreter.tensor(d["index"])() for d in self.output_details]
        self.invoke = litert_invoke(self.interpreter)
        self.io = _IntegerIo(self.input_details[0], self.output_details[0])


class LiteRTBackend:
    """The int8 window model through LiteRT. Its graph is built for one window (a batch of several
    breaks its reshapes), and 16x8 models run on LiteRT's reference kernels (XNNPACK takes no int16),
    so many windows go through `threads` interpreters side by side (Invoke releases the GIL)."""

    name = "litert_int8"
    PER_THREAD = 256  # windows below which one interpreter does all

    def __init__(self, path: Path, threads: int = 1):
        self.runtimes = [_LiteRT(path) for _ in range(max(1, threads))]
        self.runtime, self.io = self.runtimes[0], self.runtimes[0].io

    def predict(self, windows: np.ndarray) -> np.ndarray:
        quantized = self.io.quantize(windows)
        outputs = np.empty((len(windows), self.runtime.outputs[0].shape[-1]), dtype=np.float32)
        count = min(len(self.runtimes), max(1, len(windows) // self.PER_THREAD))
        bounds = np.linspace(0, len(windows), count + 1).astype(int)
        parts = [(runtime, start, end) for runtime, start, end in zip(self.runtimes, bounds[:-1], bounds[1:])]
        if count == 1:
            self._invoke(*parts[0], quantized, outputs)
        else:
            with ThreadPoolExecutor(count) as pool:
                list(pool.map(lambda part: self._invoke(part[0], part[1], part[2], quantized, outputs), parts))
        return outputs

    def _invoke(self, runtime: _LiteRT, start: int, end: int, quantized: np.ndarray, outputs: np.ndarray) -> None:
        for i in range(start, end):
            runtime.inputs[0][0] = quantized[i]
            runtime.invoke()
            outputs[i] = self.io.dequantize(runtime.outputs[0][0])


class TflmBackend:
    """The TFLite-Micro interpreter: what a microcontroller runs, on the PC."""

    name = "tflm_int8"

    def __init__(self, path: Path, arena_bytes: int):
        from tflite_micro import runtime

        with model_file(path):
            self.interpreter = runtime.Interpreter.from_file(str(path), arena_size=arena_bytes)
        self.io = _IntegerIo(self.interpreter.get_input_details(0), self.interpreter.get_output_details(0))

    def predict(self, windows: np.ndarray) -> np.ndarray:
        outputs = np.empty((len(windows), self.interpreter.get_output_details(0)["shape"][-1]), dtype=np.float32)
        for i, window in enumerate(self.io.quantize(windows)):
            self.interpreter.set_input(window[None], 0)
            self.interpreter.invoke()
            outputs[i] = self.io.dequantize(self.interpreter.get_output(0)[0])
        return outputs


class StepBackend(ABC):
    """What every step backend does: `clear` its states, `step` one sample to that step's logits;
    and the start-of-stream rule they share: R - 1 copies of the first sample."""

    receptive_field: int

    @abstractmethod
    def clear(self) -> None:
        """Every state to zero."""

    @abstractmethod
    def step(self, sample: np.ndarray) -> np.ndarray:
        """One sample in, that step's logits out; the states move on."""

    def reset(self, first: np.ndarray) -> None:
        self.clear()
        for _ in range(self.receptive_field - 1):
            self.step(first)

    def run(self, x: np.ndarray) -> np.ndarray:
        """(T, classes) logits of one whole recording, streamed from its first sample."""
        self.reset(x[0])
        return np.stack([self.step(sample) for sample in x])


class OnnxStepBackend(StepBackend):
    """fp32 or int8 QDQ. QDQ keeps float tensors at its inputs and outputs, so a QDQ state
    output is already on its int8 grid and goes back in as it is."""

    def __init__(self, path: Path, name: str, receptive_field: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        with model_file(path):
            self.session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.inputs = self.session.get_inputs()
        self.name, self.receptive_field = name, receptive_field

    def clear(self) -> None:
        self.states = [np.zeros([1, *i.shape[1:]], dtype=np.float32) for i in self.inputs[1:]]

    def step(self, sample: np.ndarray) -> np.ndarray:
        feeds = [defined_readings(np.asarray(sample, dtype=np.float32))[None], *self.states]
        logits, *self.states = self.session.run(None, {i.name: t for i, t in zip(self.inputs, feeds)})
        return logits[0]


class LiteRTStepBackend(StepBackend):
    name = "litert_int8"

    def __init__(self, path: Path, receptive_field: int):
        self.runtime = _LiteRT(path)
        self.io, self.receptive_field = self.runtime.io, receptive_field
        self.feedback = list(zip(self.runtime.inputs[1:], self.runtime.outputs[1:]))

    def clear(self) -> None:
        for state in self.runtime.inputs[1:]:
            state.fill(0)

    def step(self, sample: np.ndarray) -> np.ndarray:
        self.runtime.inputs[0][0] = self.io.quantize_sample(np.asarray(sample))
        self.runtime.invoke()
        for state_in, state_out in self.feedback:
            state_in[...] = state_out  # int8 bytes to int8 bytes: the same quantization

        return self.io.dequantize(self.runtime.outputs[0][0])


class TflmStepBackend(StepBackend):
    name = "tflm_int8"

    def __init__(self, path: Path, arena_bytes: int, receptive_field: int):
        from tflite_micro import runtime

        with model_file(path):
            self.interpreter = runtime.Interpreter.from_file(str(path), arena_size=arena_bytes)
        self.io = _IntegerIo(self.interpreter.get_input_details(0), self.interpreter.get_output_details(0))
        self.count = tflm_input_count(self.interpreter)
        self.receptive_field = receptive_field

    def clear(self) -> None:
        self.states = [np.zeros(details["shape"], dtype=details["dtype"])
                       for details in map(self.interpreter.get_input_details, range(1, self.count))]

    def step(self, sample: np.ndarray) -> np.ndarray:
        self.interpreter.set_input(np.array([self.io.quantize_sample(np.asarray(sample))], dtype=self.io.dtype), 0)
        for i, state in enumerate(self.states, start=1):
            self.interpreter.set_input(state, i)
        self.interpreter.invoke()
        self.states = [self.interpreter.get_output(i) for i in range(1, self.count)]
        return self.io.dequantize(self.interpreter.get_output(0)[0])


def tflm_arena_bytes(path: Path, probe: list[np.ndarray], low: int = 1024, high: int = 1 << 22) -> int:
    """The smallest tensor arena (to 16 bytes) in which TFLite-Micro loads and runs the model;
    `probe` holds one int8 array per model input."""
    from tflite_micro import runtime

    def fits(size: int) -> bool:
        try:
            with quiet_native_output():  # a too-small arena is reported on stderr by the C++ side
                interpreter = runtime.Interpreter.from_file(str(path), arena_size=size)
                for i, tensor in enumerate(probe):
                    interpreter.set_input(tensor, i)
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

