"""A dependency-free C99 engine for the integer step model, generated from `step_int8.tflite`:
int8 activations, or int16 activations with int8 weights (16x8, the default export).

The step model's graph is a chain of the same few things: a state and the new column joined
into a history (CONCATENATION in an int8 model; in a 16x8 model the converter writes the join as
the state padded after, the column padded before, and an ADD of the two), the next state cut
from that history (SLICE), a dilated convolution over the history (CONV_2D, per-channel int8
weights, fused ReLU), 1x1 convolutions (the skip and the head), and residual ADDs; TRANSPOSE
and RESHAPE only relabel a tensor's layout. This module reads that graph from the flatbuffer and
writes it out as straight-line C: each state becomes a ring buffer (a convolution reads its taps
where they lie instead of copying a history), and each column lives in a small scratch slot
reused as soon as it is dead.

The arithmetic is TFLite-Micro's reference kernels' (read, not copied). int8: per-channel
requantization with double rounding (gemmlowp's SaturatingRoundingDoublingHighMul then
RoundingDivideByPOT, TFLite-Micro's default build; TFLITE_SINGLE_ROUNDING is not set there).
16x8: a 64-bit accumulator and int64 bias, requantized by the 64-bit MultiplyByQuantizedMultiplier
(the multiplier cut to 16 bits, one rounding shift). ADD: both inputs shifted up (20 bits for
int8, 15 for int16), each scaled to twice the larger scale, summed, scaled to the output, with
double rounding at each step. Saturation to the fused activation's range throughout.
Multipliers and shifts are computed here from the float scales exactly as TFLite-Micro computes
them at prepare time (in double, frexp, round half away from zero).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.features import MAGNITUDE_EPS

ENGINE_C, ENGINE_H = "step_engine.c", "step_engine.h"


class EngineError(ValueError):
    """A step model this engine cannot express (another op, or quantization it does not follow)."""


@dataclass
class Tensor:
    shape: tuple[int, ...]
    dtype: str
    scales: np.ndarray
    zero_points: np.ndarray
    data: np.ndarray | None

    @property
    def scale(self) -> float:
        return float(self.scales[0])

    @property
    def zero_point(self) -> int:
        return int(self.zero_points[0])

    @property
    def channels(self) -> int:
        return int(self.shape[-1])


@dataclass
class Op:
    name: str
    inputs: list[int]
    outputs: list[int]
    options: dict


_DTYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}
_NUMPY = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "int64": np.int64, "int16": np.int16,
          "int8": np.int8}


def read_graph(path: Path) -> tuple[list[Tensor], list[Op], list[int], list[int]]:
    """Tensors, operators (in execution order) and graph inputs and outputs of a .tflite file."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
    graph = model.subgraphs[0]
    opcodes = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    tensors = []
    for t in graph.tensors:
        dtype = _DTYPES.get(t.type, str(t.type))
        raw = model.buffers[t.buffer].data
        data = None if raw is None or len(raw) == 0 else np.frombuffer(bytes(raw), dtype=_NUMPY[dtype]).reshape(t.shape)
        q = t.quantization
        scales = np.asarray(q.scale if q is not None and q.scale is not None else [], dtype=np.float32)
        zeros = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [], dtype=np.int64)
        tensors.append(Tensor(tuple(int(d) for d in t.shape), dtype, scales, zeros, data))
    ops = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        options = dict(vars(op.builtinOptions)) if op.builtinOptions is not None else {}
        ops.append(Op(opcodes[max(code.builtinCode, code.deprecatedBuiltinCode)], list(op.inputs), list(op.outputs),
                      options))
    return tensors, ops, [int(i) for i in graph.inputs], [int(i) for i in graph.outputs]


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


def activation_range(activation: int, scale: float, zero_point: int, bits: int = 8) -> tuple[int, int]:
    """Integer limits of a fused activation, none (0) or ReLU (1), for int8 or int16 values."""
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    if activation == 0:
        return low, high
    if activation == 1:
        return max(low, zero_point + int(round(0.0 / scale))), high
    raise EngineError(f"fused activation {activation} is not one this engine runs (none, ReLU)")


def _high_mul(a: np.ndarray, b: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingDoublingHighMul, elementwise (C's division truncates toward zero)."""
    ab = a.astype(np.int64) * np.int64(b)
    nudged = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    return (np.sign(nudged) * (np.abs(nudged) >> 31)).astype(np.int64)


def _divide_pot(x: np.ndarray, exponent: int) -> np.ndarray:
    """gemmlowp's RoundingDivideByPOT: x / 2^exponent, rounded half away from zero."""
    mask = (1 << exponent) - 1
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + ((x & mask) > threshold)


@dataclass(frozen=True)
class _AddSide:
    """One input of TFLite's quantized ADD: its offset and its multiplier to twice the larger scale."""

    offset: int
    multiplier: int
    shift: int

    def scaled(self, values: np.ndarray, left_shift: int) -> np.ndarray:
        shifted = (values.astype(np.int64) + self.offset) * (1 << left_shift)
        return _divide_pot(_high_mul(shifted, self.multiplier), -self.shift)


@dataclass(frozen=True)
class _AddParams:
    """TFLite-Micro's ADD as prepared for two tensors and an output (add_common.cc's arithmetic)."""

    left_shift: int
    a: _AddSide
    b: _AddSide
    output_zero_point: int
    output_multiplier: int
    output_shift: int
    low: int
    high: int

    def alone(self, side: _AddSide, values: np.ndarray) -> np.ndarray:
        """The output for `values` on one side and the other side's zero point (real zero) on the other."""
        total = side.scaled(values, self.left_shift)
        out = _divide_pot(_high_mul(total, self.output_multiplier), -self.output_shift) + self.output_zero_point
        return np.clip(out, self.low, self.high)


def add_params(x: Tensor, y: Tensor, out: Tensor, activation: int, bits: int) -> _AddParams:
    left_shift = 15 if bits == 16 else 20
    twice_max = 2 * max(float(x.scales[0]), float(y.scales[0]))
    mx, sx = quantize_multiplier(float(x.scales[0]) / twice_max)
    my, sy = quantize_multiplier(float(y.scales[0]) / twice_max)
    mo, so = quantize_multiplier(twice_max / ((1 << left_shift) * float(out.scales[0])))
    if max(sx, sy, so) > 0:
        raise EngineError("an ADD whose rescaling multipliers are not below one")
    low, high = activation_range(activation, out.scale, out.zero_point, bits)
    return _AddParams(left_shift, _AddSide(-x.zero_point, mx, sx), _AddSide(-y.zero_point, my, sy), out.zero_point,
                      mo, so, low, high)


@dataclass
class _Column:
    tensor: int
    channels: int


@dataclass
class _History:
    state: int  # index among the model's states
    column: int  # the tensor holding the new column


@dataclass
class Program:
    """What the C step does, in order, with every constant it needs."""

    sample_channels: int
    classes: int
    bits: int = 8  # activations: 8, or 16 in a 16x8 model
    states: list[tuple[int, int]] = field(default_factory=list)  # (columns, channels) per state
    steps: list[tuple] = field(default_factory=list)
    constants: list[str] = field(default_factory=list)
    slots: dict[int, int] = field(default_factory=dict)  # column tensor -> scratch slot
    slot_width: int = 0  # values per scratch slot: the widest column
    slot_values: int = 0
    input_scale: float = 1.0
    input_zero_point: int = 0
    output_scale: float = 1.0
    output_zero_point: int = 0

    @property
    def value_bytes(self) -> int:
        return self.bits // 8


_BITS = {"int8": 8, "int16": 16}


def trace(tensors: list[Tensor], ops: list[Op], inputs: list[int], outputs: list[int]) -> Program:
    """The step model's graph as engine steps (conv, add, push a column into a state ring)."""
    dtypes = {tensors[i].dtype for i in inputs + outputs}
    if len(dtypes) != 1 or not dtypes <= set(_BITS):
        raise EngineError(f"the C engine runs step models with int8 or int16 activations; this one has "
                          f"{sorted(dtypes)} tensors (export with --activations int8 or int16)")
    bits = _BITS[dtypes.pop()]
    sample, logits = tensors[inputs[0]], tensors[outputs[0]]
    if bits == 16 and any(np.any(t.zero_points != 0) for t in tensors if t.dtype == "int16"):
        raise EngineError("int16 tensors with a non-zero zero point (TFLite's 16x8 scheme is symmetric)")
    program = Program(sample.channels, logits.channels, bits, input_scale=sample.scale,
                      input_zero_point=sample.zero_point, output_scale=logits.scale,
                      output_zero_point=logits.zero_point)
    state_of = {tensor: n for n, tensor in enumerate(inputs[1:])}
    program.states = [(tensors[t].shape[2], tensors[t].channels) for t in inputs[1:]]
    value: dict[int, object] = {inputs[0]: _Column(inputs[0], sample.channels)}
    for tensor in inputs[1:]:
        value[tensor] = ("state", state_of[tensor])
    pushes: dict[int, int] = {}  # state -> column tensor pushed into it
    for op in ops:
        source = value.get(op.inputs[0])
        if op.name in ("RESHAPE", "TRANSPOSE"):
            value[op.outputs[0]] = source
        elif op.name == "CONCATENATION":
            state, column = value.get(op.inputs[0]), value.get(op.inputs[1])
            if not (isinstance(state, tuple) and state[0] == "state" and isinstance(column, _Column)):
                raise EngineError("a CONCATENATION that does not join a state and a new column")
            _same_quantization(tensors, [op.inputs[0], op.inputs[1], op.outputs[0]], "a state and its new column")
            value[op.outputs[0]] = _History(state[1], column.tensor)
            pushes[state[1]] = column.tensor
        elif op.name == "PAD":
            value[op.outputs[0]] = _padded(tensors, op, source, program)
        elif op.name == "SLICE":
            if not isinstance(source, _History):
                raise EngineError("a SLICE of something other than a state's history")
            value[op.outputs[0]] = ("next state", source.state)
        elif op.name == "CONV_2D":
            program.steps.append(_conv(program, tensors, op, source))
            value[op.outputs[0]] = _Column(op.outputs[0], tensors[op.outputs[0]].channels)
        elif op.name == "ADD":
            a, b = source, value.get(op.inputs[1])
            if isinstance(a, _Column) and isinstance(b, _Column):
                program.steps.append(_add(program, tensors, op, a.tensor, b.tensor))
                value[op.outputs[0]] = _Column(op.outputs[0], tensors[op.outputs[0]].channels)
            else:
                history = _joined(program, tensors, op, a, b)
                value[op.outputs[0]] = history
                pushes[history.state] = history.column
        else:
            raise EngineError(f"operator {op.name} is not one the C step engine runs")
    _check_outputs(value, outputs, len(program.states))
    logits_column = value[outputs[0]]
    _place_pushes(program, pushes)
    program.steps.append(("logits", logits_column.tensor))
    _allocate(program, tensors)
    return program


def _same_quantization(tensors: list[Tensor], ids: list[int], what: str) -> None:
    params = {(tensors[i].scale, tensors[i].zero_point) for i in ids}
    if len(params) != 1:
        raise EngineError(f"{what} are quantized differently ({sorted(params)}); the engine stores a column into "
                          "a state as it is, as TFLite-Micro's concatenation does only when they match")


def _padded(tensors: list[Tensor], op: Op, source, program: Program) -> tuple:
    """A PAD of a 16x8 join: a state padded by one zero column after, or a column by a state's width before."""
    pads = tensors[op.inputs[1]].data
    if pads is None or np.any(pads[:-1] != 0):
        raise EngineError("a PAD other than along time")
    before, after = (int(v) for v in pads[-1])
    _same_quantization(tensors, [op.inputs[0], op.outputs[0]], "a PAD's input and output")
    if isinstance(source, tuple) and source[0] == "state" and (before, after) == (0, 1):
        return ("padded state", source[1], op.inputs[0])
    if isinstance(source, _Column) and after == 0 and (before, source.channels) in program.states:
        return ("padded column", source.tensor, op.inputs[0])
    raise EngineError("a PAD that is not half of a state and its new column joined")


def _joined(program: Program, tensors: list[Tensor], op: Op, a, b) -> _History:
    """A 16x8 join, ADD(state padded after, column padded before): the history of a state.

    Each half is added to zeros, so TFLite-Micro requantizes it to the ADD's output. The engine
    keeps a state's ring and reads the new column as they are, so both halves must come through
    the ADD unchanged, checked here on every int16 value (the quantizer gives a join's inputs and
    output one scale, so they do).
    """
    halves = {part[0]: part for part in (a, b) if isinstance(part, tuple)}
    if set(halves) != {"padded state", "padded column"}:
        raise EngineError("an ADD of something other than two columns, or a state and its new column")
    params = add_params(tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]],
                        int(op.options.get("fusedActivationFunction", 0)), program.bits)
    every = np.arange(-(1 << (program.bits - 1)), 1 << (program.bits - 1))
    for side in (params.a, params.b):
        if not np.array_equal(params.alone(side, every), every):
            raise EngineError("a state and its new column that their join requantizes; the engine keeps them as "
                              "they are, as TFLite-Micro's join does only when their scales match")
    return _History(halves["padded state"][1], halves["padded column"][1])


def _check_outputs(value: dict, outputs: list[int], states: int) -> None:
    if not isinstance(value.get(outputs[0]), _Column):
        raise EngineError("the step model's first output is not a column of logits")
    for n, tensor in enumerate(outputs[1:]):
        if value.get(tensor) != ("next state", n):
            raise EngineError(f"output {n + 1} is not state {n} advanced by one column")
    if len(outputs) - 1 != states:
        raise EngineError("the step model has a different number of state inputs and outputs")


def _conv(program: Program, tensors: list[Tensor], op: Op, source) -> tuple:
    weights, bias, out = tensors[op.inputs[1]], tensors[op.inputs[2]], tensors[op.outputs[0]]
    if isinstance(source, _History):
        history, column, state, ring = tensors[op.inputs[0]], source.column, source.state, True
    elif isinstance(source, _Column):
        history, column, state, ring = tensors[op.inputs[0]], source.tensor, None, False
    else:
        raise EngineError("a CONV_2D over something other than a column or a state's history")
    kernel, dilation = weights.shape[2], int(op.options.get("dilationWFactor", 1))
    width = history.shape[2] if ring else 1
    if (width - 1) != (kernel - 1) * dilation or op.options.get("strideW", 1) != 1 or weights.shape[1] != 1:
        raise EngineError("a CONV_2D whose window is not exactly its history (valid, stride 1, one row)")
    if weights.dtype != "int8" or (len(weights.zero_points) and np.any(weights.zero_points != 0)):
        raise EngineError("weights that are not symmetric int8")
    n = len(program.constants)
    multipliers, shifts = zip(*(quantize_multiplier(float(history.scales[0]) * float(s) / float(out.scales[0]))
                                for s in np.broadcast_to(weights.scales, (weights.shape[0],))))
    program.constants += [
        _array("int8_t", f"kW{n}", weights.data.reshape(-1)),
        _array("int64_t" if program.bits == 16 else "int32_t", f"kB{n}", bias.data.reshape(-1)),
        _array("int32_t", f"kM{n}", multipliers),
        _array("int8_t", f"kS{n}", shifts),
    ]
    low, high = activation_range(int(op.options.get("fusedActivationFunction", 0)), out.scale, out.zero_point,
                                 program.bits)
    return ("conv", n, state, column, op.outputs[0], kernel, dilation, weights.shape[3], weights.shape[0],
            -history.zero_point, out.zero_point, low, high)


def _add(program: Program, tensors: list[Tensor], op: Op, a: int, b: int) -> tuple:
    params = add_params(tensors[a], tensors[b], tensors[op.outputs[0]], int(op.options.get("fusedActivationFunction", 0)),
                        program.bits)
    return ("add", a, b, op.outputs[0], tensors[op.outputs[0]].channels, params.left_shift, params.a.offset,
            params.a.multiplier, params.a.shift, params.b.offset, params.b.multiplier, params.b.shift,
            params.output_zero_point, params.output_multiplier, params.output_shift, params.low, params.high)


def _place_pushes(program: Program, pushes: dict[int, int]) -> None:
    """A column goes into its state's ring once the conv reading that history has read it."""
    placed = []
    for step in program.steps:
        placed.append(step)
        if step[0] == "conv" and step[2] is not None:
            placed.append(("push", step[2], pushes[step[2]]))
    program.steps = placed


def _allocate(program: Program, tensors: list[Tensor]) -> None:
    """Scratch slots for columns: a slot is free again after the last step that reads it."""
    reads: dict[int, int] = {}
    for i, step in enumerate(program.steps):
        for tensor in _reads(step):
            reads[tensor] = i
    width = max(tensors[_writes(step)].channels for step in program.steps if _writes(step) is not None)
    free: list[int] = []
    count = 0
    live: dict[int, int] = {}
    for i, step in enumerate(program.steps):
        written = _writes(step)
        if written is not None:
            slot = free.pop() if free else count
            count = max(count, slot + 1)
            program.slots[written] = slot
            live[written] = slot
        for tensor in list(live):
            if reads.get(tensor, -1) <= i and tensor != written:
                free.append(live.pop(tensor))
    program.slot_width, program.slot_values = width, count * width


def _reads(step: tuple) -> list[int]:
    if step[0] == "conv":
        return [step[3]]
    if step[0] == "add":
        return [step[1], step[2]]
    if step[0] == "push":
        return [step[2]]
    return [step[1]]  # logits


def _writes(step: tuple) -> int | None:
    if step[0] == "conv":
        return step[4]
    if step[0] == "add":
        return step[3]
    return None


def _array(ctype: str, name: str, values) -> str:
    flat = [int(v) for v in np.asarray(values).reshape(-1)]
    lines = [", ".join(str(v) for v in flat[i:i + 24]) for i in range(0, len(flat), 24)]
    return f"static const {ctype} {name}[{len(flat)}] = {{\n  " + ",\n  ".join(lines) + "\n};"


_HEADER = """\
/* The integer step model of {name} ({kind}), as dependency-free C99 (edge-har export; regenerate,
 * do not edit).
 *
 * One sample in, one step of logits out; no heap, no floating point in the step. The caller owns
 * the engine's state (EdgeHarEngine: {state_bytes} bytes of state rings, {scratch_bytes} of scratch).
 *
 *   EdgeHarEngine engine;
 *   EdgeHarValue sample[EDGE_HAR_ENGINE_CHANNELS], logits[EDGE_HAR_ENGINE_CLASSES];
 *   edge_har_engine_quantize_reading(xyz, sample);       (readings in the model's units: {units})
 *   edge_har_engine_reset(&engine, sample);              (the first sample: the start-of-stream rule)
 *   int activity = edge_har_engine_step(&engine, sample, logits);   (then every sample, the first too)
 *
 * The start-of-stream rule: before the first sample the stream is that sample repeated R - 1 times;
 * reset clears the states and runs R - 1 steps of it. A logit is
 * EDGE_HAR_ENGINE_OUTPUT_SCALE * (logits[k] - EDGE_HAR_ENGINE_OUTPUT_ZERO_POINT).
 * {magnitude}{decoding}
 * Arithmetic: TFLite-Micro's reference kernels ({arithmetic}), so the logits equal TFLite-Micro's
 * on step_int8.tflite.
 */
#ifndef EDGE_HAR_STEP_ENGINE_H
#define EDGE_HAR_STEP_ENGINE_H

#include <stdint.h>
{decoder_include}
#define EDGE_HAR_ENGINE_BITS {bits}  /* activations: 8 (int8), or 16 (int16 activations, int8 weights) */
typedef int{bits}_t EdgeHarValue;
#define EDGE_HAR_ENGINE_VALUE_MIN ({value_min})
#define EDGE_HAR_ENGINE_VALUE_MAX {value_max}
#define EDGE_HAR_ENGINE_READINGS 3
#define EDGE_HAR_ENGINE_CHANNELS {channels}
#define EDGE_HAR_ENGINE_CLASSES {classes}
#define EDGE_HAR_ENGINE_RECEPTIVE_FIELD {receptive_field}
#define EDGE_HAR_ENGINE_INPUT_INVERSE_SCALE {input_inverse}  /* float32(1 / input scale), as every backend */
#define EDGE_HAR_ENGINE_INPUT_ZERO_POINT {input_zero_point}
#define EDGE_HAR_ENGINE_OUTPUT_SCALE {output_scale}f
#define EDGE_HAR_ENGINE_OUTPUT_ZERO_POINT {output_zero_point}

typedef struct {{
{state_fields}
  uint16_t head[{state_count}];  /* the oldest column of each ring */
  EdgeHarValue scratch[{scratch_values}];{decoder_fields}
}} EdgeHarEngine;

static const char *const kEdgeHarEngineClasses[EDGE_HAR_ENGINE_CLASSES] = {{{class_names}}};

void edge_har_engine_clear(EdgeHarEngine *engine);
void edge_har_engine_reset(EdgeHarEngine *engine, const EdgeHarValue *first);
int edge_har_engine_step(EdgeHarEngine *engine, const EdgeHarValue *sample, EdgeHarValue *logits);
void edge_har_engine_quantize_reading(const float *xyz, EdgeHarValue *sample);
unsigned edge_har_engine_bytes(void);  /* sizeof(EdgeHarEngine), for a caller that cannot see the struct */
#ifdef EDGE_HAR_ENGINE_DECODED
int edge_har_engine_decoded_class(const EdgeHarEngine *engine);  /* the last step's class after the decoder */
#endif

#endif
"""

_KERNELS = """\
#include <math.h>
#include <string.h>

#include "step_engine.h"

/* gemmlowp's SaturatingRoundingDoublingHighMul: (a * b * 2) >> 32, rounded to nearest */
static int32_t high_mul(int32_t a, int32_t b) {
  if (a == b && a == INT32_MIN) return INT32_MAX;
  int64_t ab = (int64_t)a * (int64_t)b;
  int64_t nudge = ab >= 0 ? (1 << 30) : (1 - (1 << 30));
  return (int32_t)((ab + nudge) / ((int64_t)1 << 31));
}

/* gemmlowp's RoundingDivideByPOT: x / 2^e, rounded half away from zero */
static int32_t divide_pot(int32_t x, int e) {
  int32_t mask = (int32_t)(((int64_t)1 << e) - 1), remainder = x & mask;
  int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
  return (x >> e) + (remainder > threshold ? 1 : 0);
}

#if EDGE_HAR_ENGINE_BITS == 16
typedef int64_t Accumulator;
typedef int64_t Bias;

/* The 64-bit MultiplyByQuantizedMultiplier of 16x8 kernels: the multiplier rounded to 16 bits,
 * then one rounding shift. */
static int32_t requantize(int64_t x, int32_t multiplier, int shift) {
  int64_t reduced = multiplier < 0x7FFF0000 ? (multiplier + (1 << 15)) >> 16 : 0x7FFF;
  int total = 15 - shift;
  return (int32_t)((x * reduced + ((int64_t)1 << (total - 1))) >> total);
}
#else
typedef int32_t Accumulator;
typedef int32_t Bias;

static int32_t requantize(int32_t x, int32_t multiplier, int shift) {
  return divide_pot(high_mul(x * (1 << (shift > 0 ? shift : 0)), multiplier), shift > 0 ? 0 : -shift);
}
#endif

static EdgeHarValue saturate(int32_t x, int32_t low, int32_t high) {
  return (EdgeHarValue)(x < low ? low : x > high ? high : x);
}

/* One output column of a dilated convolution over [ring (oldest first), column]; a ring of
 * `width` 0 is a 1x1 convolution of the column alone. Weights are [cout][kernel][cin]. */
static void conv(const EdgeHarValue *ring, uint16_t head, int width, const EdgeHarValue *column, int kernel,
                 int dilation, int cin, int cout, const int8_t *w, const Bias *bias, const int32_t *multiplier,
                 const int8_t *shift, int32_t input_offset, int32_t output_zero_point, int32_t low, int32_t high,
                 EdgeHarValue *out) {
  for (int o = 0; o < cout; ++o) {
    Accumulator acc = 0;
    for (int j = 0; j < kernel; ++j) {
      int at = j * dilation;
      const EdgeHarValue *tap = column;
      if (at < width) tap = ring + ((head + at) % width) * cin;
      const int8_t *weight = w + (o * kernel + j) * cin;
      for (int i = 0; i < cin; ++i) acc += (int32_t)weight[i] * ((int32_t)tap[i] + input_offset);
    }
    out[o] = saturate(requantize(acc + bias[o], multiplier[o], shift[o]) + output_zero_point, low, high);
  }
}

/* TFLite's quantized ADD: both inputs shifted up (20 bits for int8, 15 for int16), each scaled to
 * twice the larger scale, summed, then scaled to the output. */
static void add(const EdgeHarValue *a, const EdgeHarValue *b, int n, int left_shift, int32_t a_offset,
                int32_t a_multiplier, int a_shift, int32_t b_offset, int32_t b_multiplier, int b_shift,
                int32_t output_zero_point, int32_t output_multiplier, int output_shift, int32_t low, int32_t high,
                EdgeHarValue *out) {
  for (int i = 0; i < n; ++i) {
    int32_t x = divide_pot(high_mul((a[i] + a_offset) * (1 << left_shift), a_multiplier), -a_shift);
    int32_t y = divide_pot(high_mul((b[i] + b_offset) * (1 << left_shift), b_multiplier), -b_shift);
    int32_t sum = divide_pot(high_mul(x + y, output_multiplier), -output_shift) + output_zero_point;
    out[i] = saturate(sum, low, high);
  }
}

/* The new column replaces the oldest of the ring. */
static void push(EdgeHarValue *ring, uint16_t *head, int width, const EdgeHarValue *column, int channels) {
  memcpy(ring + *head * channels, column, (size_t)channels * sizeof *column);
  *head = (uint16_t)(*head + 1 == width ? 0 : *head + 1);
}

unsigned edge_har_engine_bytes(void) { return (unsigned)sizeof(EdgeHarEngine); }

void edge_har_engine_clear(EdgeHarEngine *engine) {
  memset(engine, 0, sizeof *engine);
}

void edge_har_engine_reset(EdgeHarEngine *engine, const EdgeHarValue *first) {
  EdgeHarValue logits[EDGE_HAR_ENGINE_CLASSES];
  edge_har_engine_clear(engine);
  for (int t = 0; t < EDGE_HAR_ENGINE_RECEPTIVE_FIELD - 1; ++t) edge_har_engine_step(engine, first, logits);
#ifdef EDGE_HAR_ENGINE_DECODED
  edge_har_decoder_q_reset(&engine->decoder);  /* the decoder starts with the stream's first real sample */
#endif
}

#ifdef EDGE_HAR_ENGINE_DECODED
int edge_har_engine_decoded_class(const EdgeHarEngine *engine) { return engine->decoded_class; }

static void decode(EdgeHarEngine *engine, const EdgeHarValue *logits) {
  int32_t wide[EDGE_HAR_ENGINE_CLASSES];
  for (int k = 0; k < EDGE_HAR_ENGINE_CLASSES; ++k) wide[k] = logits[k];
  engine->decoded_class = edge_har_decoder_q_step(&engine->decoder, wide, EDGE_HAR_DECODE_STEP_LOGIT_Q);
}
#endif

/* Round half to even (the default rounding mode), as every edge-har backend quantizes. */
static EdgeHarValue quantize(double value) {
  double q = nearbyint(value * EDGE_HAR_ENGINE_INPUT_INVERSE_SCALE + EDGE_HAR_ENGINE_INPUT_ZERO_POINT);
  return (EdgeHarValue)(q < EDGE_HAR_ENGINE_VALUE_MIN ? EDGE_HAR_ENGINE_VALUE_MIN
                        : q > EDGE_HAR_ENGINE_VALUE_MAX ? EDGE_HAR_ENGINE_VALUE_MAX : q);
}

void edge_har_engine_quantize_reading(const float *xyz, EdgeHarValue *sample) {
  double squares = 0.0;
  for (int k = 0; k < EDGE_HAR_ENGINE_READINGS; ++k) {
    sample[k] = quantize(xyz[k]);
    squares += (double)xyz[k] * (double)xyz[k];
  }
  if (EDGE_HAR_ENGINE_CHANNELS > EDGE_HAR_ENGINE_READINGS)
    sample[EDGE_HAR_ENGINE_CHANNELS - 1] = quantize(sqrt(squares + {magnitude_eps}));
}
"""

_DECODING = """
 * Decoded over time (decoder.h, the export's causal filter, integer version): every step also
 * advances the decoder on the step's logits; edge_har_engine_decoded_class gives its class, which
 * switches only on sustained evidence. reset starts it afresh at the stream's first real sample.
 *"""

_ARITHMETIC = {
    8: "int8: per-channel requantization with double rounding, the add kernel's 20-bit shift",
    16: "16x8: 64-bit accumulators and int64 bias, the 64-bit requantization with a 16-bit multiplier,\n"
        " * the add kernel's 15-bit shift",
}


def engine_sources(program: Program, name: str, classes: list[str], receptive_field: int,
                   units: str | None, magnitude_eps: float, decoded: bool = False) -> tuple[str, str]:
    """(header, source) of the C engine for `program`; `decoded`: with decoder.h's integer filter."""
    state_fields = "\n".join(f"  EdgeHarValue state{n}[{columns * channels}];  /* {columns} columns x {channels} */"
                             for n, (columns, channels) in enumerate(program.states))
    magnitude = ("\n * The model takes |a| as a fourth channel: quantize_reading appends sqrt(x*x + y*y + z*z + "
                 f"{magnitude_eps!r}),\n * in double, as every edge-har backend does.\n *"
                 if program.sample_channels > 3 else "")
    low = -(1 << (program.bits - 1))
    header = _HEADER.format(
        name=name, kind="int8" if program.bits == 8 else "16x8: int16 activations, int8 weights",
        state_bytes=state_bytes(program), scratch_bytes=program.slot_values * program.value_bytes,
        units=units or "as trained", magnitude=magnitude, arithmetic=_ARITHMETIC[program.bits], bits=program.bits,
        value_min=low, value_max=-low - 1, channels=program.sample_channels, classes=program.classes,
        receptive_field=receptive_field, input_inverse=repr(float(np.float32(1.0 / program.input_scale))),
        input_zero_point=program.input_zero_point, output_scale=repr(program.output_scale),
        output_zero_point=program.output_zero_point, state_fields=state_fields,
        state_count=max(len(program.states), 1), scratch_values=max(program.slot_values, 1),
        class_names=", ".join(f'"{c}"' for c in classes),
        decoder_include='#include "decoder.h"  /* the causal decoder the export carries */\n'
                        "#define EDGE_HAR_ENGINE_DECODED 1\n" if decoded else "",
        decoder_fields="\n  EdgeHarDecoderQ decoder;\n  int32_t decoded_class;" if decoded else "",
        decoding=_DECODING if decoded else "")
    source = (_KERNELS.replace("{magnitude_eps}", repr(magnitude_eps)) + "\n" + "\n\n".join(program.constants)
              + "\n\n" + _step_function(program, decoded) + "\n")
    return header, source


def _step_function(program: Program, decoded: bool) -> str:
    def column(tensor: int) -> str:
        if tensor not in program.slots:
            return "sample"
        return f"engine->scratch + {program.slots[tensor] * program.slot_width}"

    lines = ["int edge_har_engine_step(EdgeHarEngine *engine, const EdgeHarValue *sample, EdgeHarValue *logits) {"]
    for step in program.steps:
        if step[0] == "conv":
            _, n, state, source, out, kernel, dilation, cin, cout, in_off, out_zp, low, high = step
            if state is None:
                ring, head, ring_width = "0", "0", 0
            else:
                ring, head, ring_width = (f"engine->state{state}", f"engine->head[{state}]",
                                          program.states[state][0])
            lines.append(f"  conv({ring}, {head}, {ring_width}, {column(source)}, {kernel}, {dilation}, {cin}, {cout}, "
                         f"kW{n}, kB{n}, kM{n}, kS{n}, {in_off}, {out_zp}, {low}, {high}, {column(out)});")
        elif step[0] == "add":
            _, a, b, out, n, left, a_off, ma, sa, b_off, mb, sb, out_zp, mo, so, low, high = step
            lines.append(f"  add({column(a)}, {column(b)}, {n}, {left}, {a_off}, {ma}, {sa}, {b_off}, {mb}, {sb}, "
                         f"{out_zp}, {mo}, {so}, {low}, {high}, {column(out)});")
        elif step[0] == "push":
            _, state, source = step
            columns, channels = program.states[state]
            lines.append(f"  push(engine->state{state}, &engine->head[{state}], {columns}, {column(source)}, "
                         f"{channels});")
        else:
            lines.append(f"  memcpy(logits, {column(step[1])}, EDGE_HAR_ENGINE_CLASSES * sizeof *logits);")
            if decoded:
                lines.append("  decode(engine, logits);")
    lines += ["  int best = 0;",
              "  for (int k = 1; k < EDGE_HAR_ENGINE_CLASSES; ++k) if (logits[k] > logits[best]) best = k;",
              "  return best;", "}"]
    return "\n".join(lines)


def state_bytes(program: Program) -> int:
    return sum(columns * channels for columns, channels in program.states) * program.value_bytes


def engine_bytes(program: Program, decoded: bool = False) -> int:
    """sizeof(EdgeHarEngine): the rings, then the uint16 ring heads (2-byte aligned), then scratch,
    then, where decoded, the decoder's int32 log beliefs and class (4-byte aligned)."""
    heads = state_bytes(program) + state_bytes(program) % 2 + 2 * max(len(program.states), 1)
    end = heads + max(program.slot_values, 1) * program.value_bytes
    if not decoded:
        return end + end % 2
    return _aligned(end, 4) + 4 * program.classes + 4


def _aligned(offset: int, alignment: int) -> int:
    return -(-offset // alignment) * alignment


def write_engine(tflite: Path, folder: Path, name: str, classes: list[str], receptive_field: int,
                 units: str | None, decoded: bool = False) -> dict:
    """step_engine.h and step_engine.c beside the step model (`decoded`: with the decoder of the
    export's decoder.h); what they hold, for export.json."""

    program = trace(*read_graph(tflite))
    header, source = engine_sources(program, name, classes, receptive_field, units, MAGNITUDE_EPS, decoded)
    (folder / ENGINE_H).write_text(header)
    (folder / ENGINE_C).write_text(source)
    return {"source": ENGINE_C, "header": ENGINE_H, "bits": program.bits, "decoded": decoded,
            "ram_bytes": engine_bytes(program, decoded),
            "state_bytes": state_bytes(program), "scratch_bytes": program.slot_values * program.value_bytes,
            "channels": program.sample_channels, "class_count": program.classes,
            "output_scale": program.output_scale, "output_zero_point": program.output_zero_point,
            "matches": "TFLite-Micro's reference kernels (int8: double rounding); LiteRT's optimized x86 kernels "
                       "round some requantizations differently, so its logits may differ from both by a unit"}
