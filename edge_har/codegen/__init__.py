"""C generated from exported models: the step engine (from step_int8.tflite) and the decoder header.
Reads .tflite and JSON; no torch."""

from .decoder_header import decoder_header
from .step_engine import ENGINE_C, EngineError, quantize_multiplier, read_graph, trace, write_engine

__all__ = [
    "ENGINE_C", "EngineError", "decoder_header", "quantize_multiplier", "read_graph", "trace", "write_engine"
]
