"""C generated from exported models: the step engine (from step_int8.tflite) and the decoder header.
Reads .tflite and JSON; no torch. The hand-written C they carry is in c/ (package data).

The engine's path through the code: tflite_graph (the flatbuffer) -> tracing (the graph as the
program of engine_ir, with fixed_point's arithmetic) -> scratch (column slots) -> engine_writer
(the C, with weight_layouts' weights for each path: the DSP extension's and the portable one)."""

from .decoder_header import decoder_header
from .engine_writer import ENGINE_C, ENGINE_H, write_engine
from .fixed_point import EngineError, quantize_multiplier
from .library import LIBRARY_DIR, write_library
from .tflite_graph import read_graph
from .tracing import trace

__all__ = [
    "ENGINE_C", "ENGINE_H", "LIBRARY_DIR", "EngineError", "decoder_header", "quantize_multiplier", "read_graph",
    "trace", "write_engine", "write_library",
]
