"""A .tflite flatbuffer as plain tensors and operators, through LiteRT's generated schema."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


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


@dataclass
class Graph:
    tensors: list[Tensor]
    ops: list[Op]  # in execution order
    inputs: list[int]
    outputs: list[int]


_DTYPES = {0: "float32", 2: "int32", 3: "uint8", 4: "int64", 7: "int16", 9: "int8"}
_NUMPY = {"float32": np.float32, "int32": np.int32, "uint8": np.uint8, "int64": np.int64, "int16": np.int16,
          "int8": np.int8}


def read_graph(path: Path) -> Graph:
    """The first subgraph of a .tflite file."""
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(path.read_bytes(), 0))
    graph = model.subgraphs[0]
    opcodes = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    tensors = [_tensor(t, model.buffers[t.buffer].data) for t in graph.tensors]
    ops = []
    for op in graph.operators:
        code = model.operatorCodes[op.opcodeIndex]
        options = dict(vars(op.builtinOptions)) if op.builtinOptions is not None else {}
        ops.append(Op(opcodes[max(code.builtinCode, code.deprecatedBuiltinCode)], list(op.inputs), list(op.outputs),
                      options))
    return Graph(tensors, ops, [int(i) for i in graph.inputs], [int(i) for i in graph.outputs])


def _tensor(t, raw) -> Tensor:
    dtype = _DTYPES.get(t.type, str(t.type))
    data = None if raw is None or len(raw) == 0 else np.frombuffer(bytes(raw), dtype=_NUMPY[dtype]).reshape(t.shape)
    q = t.quantization
    scales = np.asarray(q.scale if q is not None and q.scale is not None else [], dtype=np.float32)
    zeros = np.asarray(q.zeroPoint if q is not None and q.zeroPoint is not None else [], dtype=np.int64)
    return Tensor(tuple(int(d) for d in t.shape), dtype, scales, zeros, data)
