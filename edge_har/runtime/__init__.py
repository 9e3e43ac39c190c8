"""Running an exported model: the export folder, the ONNX Runtime, LiteRT and TFLite-Micro
backends, the rolling and step engines, and the stream session and its read loop. No torch."""

from .adapters import check, litert_op_names, problems
from .backends import (
    LiteRTBackend,
    LiteRTStepBackend,
    OnnxBackend,
    OnnxStepBackend,
    TflmBackend,
    TflmStepBackend,
    tflm_arena_bytes,
)
from .engines import INT8_BACKENDS, RollingBuffer, check_engine, int8_engine, make_engine, step_backend, window_backend
from .export_folder import (
    DECODER_HEADER,
    EXPORT_DIR,
    EXPORT_JSON,
    FP32_ONNX,
    INT8_ONNX,
    INT8_TFLITE,
    STEP_FP32_ONNX,
    STEP_INT8_ONNX,
    STEP_INT8_TFLITE,
    Exported,
)
from .session import LARGEST_GAPS, StepRecord, StreamSession
from .stream import StreamOptions, stream

__all__ = [
    "DECODER_HEADER", "EXPORT_DIR", "EXPORT_JSON", "Exported", "FP32_ONNX", "INT8_BACKENDS", "INT8_ONNX",
    "INT8_TFLITE", "LARGEST_GAPS", "LiteRTBackend", "LiteRTStepBackend", "OnnxBackend", "OnnxStepBackend",
    "RollingBuffer", "STEP_FP32_ONNX", "STEP_INT8_ONNX", "STEP_INT8_TFLITE", "StepRecord", "StreamOptions", "StreamSession",
    "TflmBackend", "TflmStepBackend", "check", "check_engine", "int8_engine", "litert_op_names",
    "make_engine", "problems", "step_backend", "stream", "tflm_arena_bytes", "window_backend"
]
