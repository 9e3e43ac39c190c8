"""The step model's graph as the engine's program.

The graph is a chain of the same few things: a state and the new column joined into a history
(CONCATENATION in an int8 model; in a 16x8 model the converter writes the join as the state
padded after, the column padded before, and an ADD of the two), the next state cut from that
history (SLICE), a dilated convolution over the history (CONV_2D, per-channel int8 weights,
fused ReLU), 1x1 convolutions (the skip and the head), and residual ADDs; TRANSPOSE and RESHAPE
only relabel a tensor's layout. Each state becomes a ring (a convolution reads its taps where
they lie instead of copying a history)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engine_ir import Add, Conv, Logits, Program, Push, Ring, Step
from .fixed_point import (
    EngineError,
    activation_range,
    add_params,
    narrow_accumulator_suffices,
    quantize_multiplier,
    sixteen_bit_requantization,
)
from .scratch import allocate
from .tflite_graph import Graph, Op, Tensor


@dataclass(frozen=True)
class _Column:
    tensor: int
    channels: int


@dataclass(frozen=True)
class _State:
    ring: int


@dataclass(frozen=True)
class _History:
    ring: int
    column: int  # the tensor holding the new column


@dataclass(frozen=True)
class _NextState:
    ring: int


@dataclass(frozen=True)
class _PaddedState:
    ring: int


@dataclass(frozen=True)
class _PaddedColumn:
    column: int


_Value = _Column | _State | _History | _NextState | _PaddedState | _PaddedColumn
_BITS = {"int8": 8, "int16": 16}


def trace(graph: Graph) -> Program:
    """The step model's graph as engine steps (conv, add, push a column into a state ring)."""
    tensors, inputs, outputs = graph.tensors, graph.inputs, graph.outputs
    bits = _activation_bits(tensors, inputs + outputs)
    sample, logits = tensors[inputs[0]], tensors[outputs[0]]
    program = Program(sample.channels, logits.channels, bits, sample.scale, sample.zero_point, logits.scale,
                      logits.zero_point, rings=[Ring(tensors[t].shape[2], tensors[t].channels) for t in inputs[1:]])
    value: dict[int, _Value] = {inputs[0]: _Column(inputs[0], sample.channels)}
    value.update({tensor: _State(n) for n, tensor in enumerate(inputs[1:])})
    pushes: dict[int, int] = {}  # ring -> column tensor pushed into it
    for op in graph.ops:
        result = _step(program, tensors, op, value, pushes)
        if result is not None:
            value[op.outputs[0]] = result
    _check_outputs(value, outputs, len(program.rings))
    logits_column = value[outputs[0]]
    assert isinstance(logits_column, _Column)  # _check_outputs
    program.steps = _with_pushes(program.steps, pushes) + [Logits(logits_column.tensor)]
    allocate(program, tensors)
    return program


def _activation_bits(tensors: list[Tensor], ends: list[int]) -> int:
    dtypes = {tensors[i].dtype for i in ends}
    if len(dtypes) != 1 or not dtypes <= set(_BITS):
        raise EngineError(f"the C engine runs step models with int8 or int16 activations; this one has "
                          f"{sorted(dtypes)} tensors (export with --activations int8 or int16)")
    bits = _BITS[dtypes.pop()]
    if bits == 16 and any(np.any(t.zero_points != 0) for t in tensors if t.dtype == "int16"):
        raise EngineError("int16 tensors with a non-zero zero point (TFLite's 16x8 scheme is symmetric)")
    return bits


def _step(program: Program, tensors: list[Tensor], op: Op, value: dict[int, _Value],
          pushes: dict[int, int]) -> _Value | None:
    """What `op` makes of its inputs; an op that computes appends its step to the program."""
    source = value.get(op.inputs[0])
    if op.name in ("RESHAPE", "TRANSPOSE"):
        return source
    if op.name == "CONCATENATION":
        column = value.get(op.inputs[1])
        if not (isinstance(source, _State) and isinstance(column, _Column)):
            raise EngineError("a CONCATENATION that does not join a state and a new column")
        _same_quantization(tensors, [op.inputs[0], op.inputs[1], op.outputs[0]], "a state and its new column")
        pushes[source.ring] = column.tensor
        return _History(source.ring, column.tensor)
    if op.name == "PAD":
        return _padded(tensors, op, source, program)
    if op.name == "SLICE":
        if not isinstance(source, _History):
            raise EngineError("a SLICE of something other than a state's history")
        return _NextState(source.ring)
    if op.name == "CONV_2D":
        program.steps.append(_conv(program, tensors, op, source))
        return _Column(op.outputs[0], tensors[op.outputs[0]].channels)
    if op.name == "ADD":
        other = value.get(op.inputs[1])
        if isinstance(source, _Column) and isinstance(other, _Column):
            program.steps.append(_add(program, tensors, op, source.tensor, other.tensor))
            return _Column(op.outputs[0], tensors[op.outputs[0]].channels)
        history = _joined(program, tensors, op, source, other)
        pushes[history.ring] = history.column
        return history
    raise EngineError(f"operator {op.name} is not one the C step engine runs")


def _same_quantization(tensors: list[Tensor], ids: list[int], what: str) -> None:
    params = {(tensors[i].scale, tensors[i].zero_point) for i in ids}
    if len(params) != 1:
        raise EngineError(f"{what} are quantized differently ({sorted(params)}); the engine stores a column into "
                          "a state as it is, as TFLite-Micro's concatenation does only when they match")


def _padded(tensors: list[Tensor], op: Op, source: _Value | None, program: Program) -> _Value:
    """A PAD of a 16x8 join: a state padded by one zero column after, or a column by a state's width before."""
    pads = tensors[op.inputs[1]].data
    if pads is None or np.any(pads[:-1] != 0):
        raise EngineError("a PAD other than along time")
    before, after = (int(v) for v in pads[-1])
    _same_quantization(tensors, [op.inputs[0], op.outputs[0]], "a PAD's input and output")
    if isinstance(source, _State) and (before, after) == (0, 1):
        return _PaddedState(source.ring)
    if isinstance(source, _Column) and after == 0 and Ring(before, source.channels) in program.rings:
        return _PaddedColumn(source.tensor)
    raise EngineError("a PAD that is not half of a state and its new column joined")


def _joined(program: Program, tensors: list[Tensor], op: Op, a: _Value | None, b: _Value | None) -> _History:
    """A 16x8 join, ADD(state padded after, column padded before): the history of a state.

    Each half is added to zeros, so TFLite-Micro requantizes it to the ADD's output. The engine
    keeps a state's ring and reads the new column as they are, so both halves must come through
    the ADD unchanged, checked here on every int16 value (the quantizer gives a join's inputs and
    output one scale, so they do).
    """
    state = next((part for part in (a, b) if isinstance(part, _PaddedState)), None)
    column = next((part for part in (a, b) if isinstance(part, _PaddedColumn)), None)
    if state is None or column is None:
        raise EngineError("an ADD of something other than two columns, or a state and its new column")
    params = add_params(tensors[op.inputs[0]], tensors[op.inputs[1]], tensors[op.outputs[0]],
                        int(op.options.get("fusedActivationFunction", 0)), program.bits)
    every = np.arange(-(1 << (program.bits - 1)), 1 << (program.bits - 1))
    for side in (params.a, params.b):
        if not np.array_equal(params.alone(side, every), every):
            raise EngineError("a state and its new column that their join requantizes; the engine keeps them as "
                              "they are, as TFLite-Micro's join does only when their scales match")
    return _History(state.ring, column.column)


def _check_outputs(value: dict[int, _Value], outputs: list[int], rings: int) -> None:
    if not isinstance(value.get(outputs[0]), _Column):
        raise EngineError("the step model's first output is not a column of logits")
    for n, tensor in enumerate(outputs[1:]):
        if value.get(tensor) != _NextState(n):
            raise EngineError(f"output {n + 1} is not state {n} advanced by one column")
    if len(outputs) - 1 != rings:
        raise EngineError("the step model has a different number of state inputs and outputs")


def _conv(program: Program, tensors: list[Tensor], op: Op, source: _Value | None) -> Conv:
    weights, bias, out = tensors[op.inputs[1]], tensors[op.inputs[2]], tensors[op.outputs[0]]
    history = tensors[op.inputs[0]]
    if isinstance(source, _History):
        ring, column, width = source.ring, source.column, history.shape[2]
    elif isinstance(source, _Column):
        ring, column, width = None, source.tensor, 1
    else:
        raise EngineError("a CONV_2D over something other than a column or a state's history")
    kernel, dilation = weights.shape[2], int(op.options.get("dilationWFactor", 1))
    if (width - 1) != (kernel - 1) * dilation or op.options.get("strideW", 1) != 1 or weights.shape[1] != 1:
        raise EngineError("a CONV_2D whose window is not exactly its history (valid, stride 1, one row)")
    if weights.dtype != "int8" or weights.data is None or (len(weights.zero_points) and
                                                             np.any(weights.zero_points != 0)):
        raise EngineError("weights that are not symmetric int8")
    if bias.data is None:
        raise EngineError("a CONV_2D without a constant bias")
    pairs = [quantize_multiplier(history.scale * float(s) / out.scale)
             for s in np.broadcast_to(weights.scales, (weights.shape[0],))]
    w, b = weights.data.reshape(weights.shape[0], kernel, -1), bias.data.reshape(-1)
    narrow = program.bits == 8 or bool(np.all(narrow_accumulator_suffices(w, b, program.bits)))
    high_word = False
    if program.bits == 16:
        pairs = [sixteen_bit_requantization(m, s) for m, s in pairs]
        high_word = narrow and all(16 <= total <= 32 for _, total in pairs)
        if high_word:  # requantize_high's multiplier, m * 2^(32 - t) (below 2^31: m < 2^15)
            pairs = [(m << (32 - total), total) for m, total in pairs]
    multipliers, shifts = (np.array(column, dtype=np.int64) for column in zip(*pairs))
    low, high = activation_range(int(op.options.get("fusedActivationFunction", 0)), out.scale, out.zero_point,
                                 program.bits)
    return Conv(ring, column, op.outputs[0], kernel, dilation, w, b, multipliers, shifts, -history.zero_point,
                out.zero_point, low, high, narrow, high_word)


def _add(program: Program, tensors: list[Tensor], op: Op, a: int, b: int) -> Add:
    params = add_params(tensors[a], tensors[b], tensors[op.outputs[0]], int(op.options.get("fusedActivationFunction", 0)),
                        program.bits)
    return Add(a, b, op.outputs[0], tensors[op.outputs[0]].channels, params)


def _with_pushes(steps: list[Step], pushes: dict[int, int]) -> list[Step]:
    """Each column goes into its state's ring right after the conv that reads that history."""
    placed: list[Step] = []
    for step in steps:
        placed.append(step)
        if isinstance(step, Conv) and step.ring is not None:
            placed.append(Push(step.ring, pushes[step.ring]))
    return placed
