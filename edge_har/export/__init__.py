"""`edge-har export`: ONNX and TFLite models, integer quantization, step models, QAT. Training
install only."""

from .converter_adapters import converter_problems
from .exporter import ExportOptions, export
from .qat import QatConfig
from .quantize import quantize_onnx
from .step_models import last_step_logits, onnx_last_step_logits

__all__ = [
    "ExportOptions", "QatConfig", "converter_problems", "export", "last_step_logits", "onnx_last_step_logits",
    "quantize_onnx"
]
