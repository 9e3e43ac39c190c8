"""A board's sensor on the device: raw counts at the sensor's rate to the model's quantized input at
the model's rate, in integers only (cores without an FPU), and its Python reference.

The rate converter is the host's (core/resample.py's StreamResampler): the same polyphase FIR,
the same phases, the same outputs completed by the same inputs and the same start-of-stream rule,
with its taps rounded to Q14. Each output is an int32 sum of taps x counts (2^14 x the filtered
count); the unit scaling (model units per count) and the input quantization fold into one
TFLite-style multiplier and shift, so a count never becomes a float. With |a| as a fourth channel
it is the integer square root of the sum of the squared sums, through the same multiplier.
`convert` is the reference the generated C (sensor_writer.py) equals sample for sample.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.resample import SAME_RATE, design, ratio
from ..core.units import factor
from .fixed_point import divide_pot, high_mul, quantize_multiplier
from .tflite_graph import read_graph
from .tracing import trace

TAP_BITS = 14  # taps in Q14: an upsampler's centre tap is 1.0, which Q15 int16 cannot hold
MEMORY_BITS = 20  # a memory's gain (1 - keep) in Q20: (sum 2^8 - memory) x gain stays below 2^60
MEMORY_FRACTION = 8  # the memory holds sums with 8 more bits of fraction (int64 on the device)
_PER_COUNT = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*(mg|g|m/s2|m/s\^2|mm/s2)\s*$", re.IGNORECASE)
_TO_BASE = {"mg": ("g", 1e-3), "g": ("g", 1.0), "m/s2": ("m/s2", 1.0), "m/s^2": ("m/s2", 1.0),
            "mm/s2": ("m/s2", 1e-3)}


@dataclass(frozen=True)
class BoardUnits:
    """A sensor's counts: `per_count` of `units` (g or m/s2) in one count."""

    units: str
    per_count: float

    @classmethod
    def parse(cls, text: str) -> BoardUnits:
        """'0.061mg', '0.0039g', '0.0006m/s2': what one count of the sensor is (its datasheet's sensitivity)."""
        match = _PER_COUNT.match(text)
        if not match or float(match.group(1)) <= 0:
            raise UserError(f"--board-units takes what one count of the sensor is, a number and a unit, e.g. "
                            f"0.061mg (LSM6DSO at +-2 g), 3.9mg (ADXL345) or 0.0006m/s2; not {text!r}")
        units, to_base = _TO_BASE[match.group(2).lower()]
        return cls(units, float(match.group(1)) * to_base)


@dataclass(frozen=True)
class Board:
    """A board's sensor: its rate (None: the model's) and what one of its counts is."""

    rate_hz: float | None
    units: BoardUnits


@dataclass(frozen=True)
class SensorInput:
    """The fixed-point conversion of one board for one model."""

    board_rate_hz: float
    model_rate_hz: float
    up: int
    down: int
    taps: np.ndarray  # (up, width) int16, Q14: phase p's taps over the newest `width` inputs, oldest first
    multiplier: int  # Q31: 2^-14 x model units per count / input scale, with `shift`
    shift: int
    zero_point: int
    bits: int  # the model's input: int8 or int16
    channels: int  # 3, 4 with |a|, or 6 with a memory
    units_per_count: float  # model units in one count
    memory_gain: int = 0  # Q20: 1 - keep of the model's memory; 0: none

    @property
    def converting(self) -> bool:
        return self.taps.shape[0] > 0

    @property
    def width(self) -> int:
        return self.taps.shape[1] if self.converting else 1

    @property
    def max_steps(self) -> int:
        """The most model steps one reading completes."""
        return -(-self.up // self.down) if self.converting else 1


def sensor_input(board_rate_hz: float, model_rate_hz: float, board: BoardUnits, model_units: str,
                 input_scale: float, input_zero_point: int, bits: int, channels: int,
                 memory_keep: float = 0.0) -> SensorInput:
    """The conversion of `board`'s counts at `board_rate_hz` to a model's input (its quantization);
    `memory_keep`: a model with a memory keeps this share of it each step (features.Memory)."""
    units_per_count = board.per_count * factor(board.units, model_units)
    multiplier, shift = quantize_multiplier(units_per_count / input_scale / (1 << TAP_BITS))
    if shift > 0 or multiplier == 0:
        raise UserError(f"one count ({board.per_count:g} {board.units}) is {units_per_count / input_scale:.3g} steps "
                        "of the model's input: give the sensor's sensitivity per count (e.g. 0.061mg)")
    up, down = ratio(board_rate_hz, model_rate_hz)
    if abs(board_rate_hz / model_rate_hz - 1) <= SAME_RATE:  # one rate, as the host's stream judges it
        up = down = 1
    taps = np.zeros((0, 1), dtype=np.int16) if up == down else _phase_taps(up, down)
    memory_gain = int(round((1.0 - memory_keep) * (1 << MEMORY_BITS))) if memory_keep else 0
    return SensorInput(board_rate_hz, model_rate_hz, up, down, taps, multiplier, shift, input_zero_point, bits,
                       channels, units_per_count, memory_gain)


def check_model_takes_counts(model_rate_hz: float | None, model_units: str | None) -> tuple[float, str]:
    """A model's rate and units, where a board's counts can be converted to them; one line otherwise."""
    if model_rate_hz is None or model_units is None or model_units == "counts":
        missing = "sample rate" if model_rate_hz is None else "units in g or m/s2"
        raise UserError(f"the model states no {missing}, so a board's rate and counts cannot be converted to its "
                        "input; train on data whose rate and units are known (--sample-rate, --units)")
    return model_rate_hz, model_units


def sensor_for_model(step_tflite: Path, board: Board, model_rate_hz: float | None, model_units: str | None,
                     memory_keep: float = 0.0) -> SensorInput:
    """The conversion of `board`'s counts to the input of an int8 step model (step_int8.tflite)."""
    model_rate_hz, model_units = check_model_takes_counts(model_rate_hz, model_units)
    program = trace(read_graph(step_tflite))
    return sensor_input(board.rate_hz or model_rate_hz, model_rate_hz, board.units, model_units,
                        program.input_scale, program.input_zero_point, program.bits, program.sample_channels,
                        memory_keep)


def _phase_taps(up: int, down: int) -> np.ndarray:
    """design()'s filter split into its `up` phases, as StreamResampler splits it, in Q14. Each
    phase's largest tap takes up the rounding of its sum, so that a steady reading (gravity, most
    of every signal) passes with the float filter's gain to within half a step of Q14."""
    taps = design(up, down)
    width = -(-len(taps) // up)
    padded = np.zeros(width * up)
    padded[:len(taps)] = taps
    by_phase = padded.reshape(width, up).T[:, ::-1] * (1 << TAP_BITS)
    fixed = np.rint(by_phase).astype(np.int64)
    largest = np.abs(by_phase).argmax(axis=1)
    fixed[np.arange(up), largest] += np.rint(by_phase.sum(axis=1)).astype(np.int64) - fixed.sum(axis=1)
    return fixed.astype(np.int16)


def convert(sensor: SensorInput, counts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(inputs, completed_by, first): the model inputs (k, channels) that a stream of int16 counts
    (n, 3) yields, the reading that completed each, and the input the engine is reset with (the
    stream's first reading, the start-of-stream rule). The reference of the generated C."""
    counts = np.asarray(counts, dtype=np.int64).reshape(-1, 3)
    start = counts[0] << TAP_BITS  # the stream's first reading, as the sums of a steady stream of it
    first = _quantize(sensor, start[None], start[None])[0]
    if not sensor.converting:
        sums = counts << TAP_BITS
        return _quantize(sensor, sums, _remembered(sensor, sums, start)), np.arange(len(counts)), first
    width = sensor.width
    held = np.concatenate([np.repeat(counts[:1], width - 1, axis=0), counts])  # before the stream: its first reading
    outputs = -(-len(counts) * sensor.up // sensor.down)  # outputs n with n down // up < len(counts)
    n = np.arange(outputs)
    newest = n * sensor.down // sensor.up
    phase = n * sensor.down - newest * sensor.up
    windows = held[newest[:, None] + np.arange(width)]  # (k, width, 3), oldest first
    sums = np.einsum("kw,kwc->kc", sensor.taps[phase].astype(np.int64), windows)
    assert np.abs(sums).max(initial=0) < (1 << 31), "a sum beyond int32 (taps sum to about 1 in Q14)"
    return _quantize(sensor, sums, _remembered(sensor, sums, start)), newest, first


def _remembered(sensor: SensorInput, sums: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The memory of a model with one, in the sums' units: m += ((s 2^8 - m) gain + 2^19) >> 20 from
    m = `start` 2^8 (the stream's first reading: the start-of-stream rule), rounded back to the sums' units."""
    if not sensor.memory_gain:
        return sums
    memory, recalled = start << MEMORY_FRACTION, np.empty_like(sums)
    half = 1 << (MEMORY_BITS - 1)
    for k, s in enumerate(sums):
        memory = memory + ((((s << MEMORY_FRACTION) - memory) * sensor.memory_gain + half) >> MEMORY_BITS)
        recalled[k] = (memory + (1 << (MEMORY_FRACTION - 1))) >> MEMORY_FRACTION
    return recalled


def _quantize(sensor: SensorInput, sums: np.ndarray, recalled: np.ndarray) -> np.ndarray:
    """Sums (k, 3) of 2^14 x counts to the model's input: the axes, then their memory where the model
    has one (`recalled`, in the same units) or |a| where it takes that."""
    if sensor.memory_gain:
        sums = np.concatenate([sums, recalled], axis=1)
    elif sensor.channels > 3:
        squares = [sum(int(v) * int(v) for v in row) for row in sums]
        sums = np.concatenate([sums, np.array([[math.isqrt(s)] for s in squares], dtype=np.int64)], axis=1)
    low, high = -(1 << (sensor.bits - 1)), (1 << (sensor.bits - 1)) - 1
    scaled = divide_pot(high_mul(sums, sensor.multiplier), -sensor.shift) + sensor.zero_point
    return np.clip(scaled, low, high).astype(np.int16 if sensor.bits == 16 else np.int8)
