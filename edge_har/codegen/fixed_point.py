"""TFLite-Micro's integer arithmetic as it prepares it (read, not copied): multipliers and shifts
from float scales (in double, frexp, round half away from zero), fused activation limits, the
quantized ADD's parameters, and the bound that says when a 32-bit accumulator suffices."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .tflite_graph import Tensor


class EngineError(ValueError):
    """A step model this engine cannot express (another op, or quantization it does not follow)."""


def quantize_multiplier(real: float) -> tuple[int, int]:
    """(multiplier with its fixed point at bit 31, shift), as TFLite's QuantizeMultiplier."""
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)
    fixed = int(math.floor(abs(fraction) * (1 << 31) + 0.5)) * (1 if fraction >= 0 else -1)  # half away from zero
    if fixed == 1 << 31:
        fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return fixed, shift


def sixteen_bit_requantization(multiplier: int, shift: int) -> tuple[int, int]:
    """The 64-bit MultiplyByQuantizedMultiplier of 16x8 kernels, prepared once: the multiplier
    rounded to 16 bits and the one right shift (15 - shift) that follows the product."""
    reduced = (multiplier + (1 << 15)) >> 16 if multiplier < 0x7FFF0000 else 0x7FFF
    total = 15 - shift
    if total < 1:
        raise EngineError("a 16x8 requantization multiplier of 2^15 or more")
    return reduced, total


def activation_range(activation: int, scale: float, zero_point: int, bits: int = 8) -> tuple[int, int]:
    """Integer limits of a fused activation, none (0) or ReLU (1), for int8 or int16 values."""
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if activation == 0:
        return low, high
    if activation == 1:
        return max(low, zero_point + int(round(0.0 / scale))), high
    raise EngineError(f"fused activation {activation} is not one this engine runs (none, ReLU)")


def narrow_accumulator_suffices(weights: np.ndarray, bias: np.ndarray, bits: int) -> np.ndarray:
    """Per output channel: can a 32-bit accumulator hold every partial sum and the bias?

    Every partial sum of sum(w * x) is at most sum(|w|) * max|x| in size, whatever the order, and
    max|x| is 2^(bits - 1) (the most negative value); with the bias added the total must stay
    below 2^31. `weights` is [cout, ...]."""
    largest = np.abs(weights.reshape(len(weights), -1).astype(np.int64)).sum(axis=1) * (1 << (bits - 1))
    return largest + np.abs(bias.astype(np.int64)) < (1 << 31)


def high_mul(a: np.ndarray, b: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul, elementwise: its nudge and division toward
    zero are floor((a * b + 2^30) / 2^31) for every product (tests/test_c_engine.py checks)."""
    return (a.astype(np.int64) * np.int64(b) + (1 << 30)) >> 31


def divide_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2^exponent, rounded half away from zero."""
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + ((x & mask) > threshold)


@dataclass(frozen=True)
class AddInput:
    """One input of TFLite's quantized ADD: its offset and its multiplier to twice the larger scale."""

    offset: int
    multiplier: int
    shift: int

    def scaled(self, values: np.ndarray, left_shift: int) -> np.ndarray:
        shifted = (values.astype(np.int64) + self.offset) * (1 << left_shift)
        return divide_pot(high_mul(shifted, self.multiplier), -self.shift)


@dataclass(frozen=True)
class AddParams:
    """TFLite-Micro's ADD as prepared for two tensors and an output (add_common.cc's arithmetic)."""

    left_shift: int
    a: AddInput
    b: AddInput
    output_zero_point: int
    output_multiplier: int
    output_shift: int
    low: int
    high: int

    def alone(self, side: AddInput, values: np.ndarray) -> np.ndarray:
        """The output for `values` on one side and the other side's zero point (real zero) on the other."""
        total = side.scaled(values, self.left_shift)
        out = divide_pot(high_mul(total, self.output_multiplier), -self.output_shift) + self.output_zero_point
        return np.clip(out, self.low, self.high)


def add_params(x: Tensor, y: Tensor, out: Tensor, activation: int, bits: int) -> AddParams:
    left_shift = 15 if bits == 16 else 20
    twice_max = 2 * max(float(x.scales[0]), float(y.scales[0]))
    mx, sx = quantize_multiplier(float(x.scales[0]) / twice_max)
    my, sy = quantize_multiplier(float(y.scales[0]) / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << left_shift) * float(out.scales[0])))
    if max(sx, sy, so) > 0:
        raise EngineError("an ADD whose rescaling multipliers are not below one")
    low, high = activation_range(activation, out.scale, out.zero_point, bits)
    return AddParams(left_shift, AddInput(-x.zero_point, mx, sx), AddInput(-y.zero_point, my, sy), out.zero_point,
                     mo, so, low, high)
