"""Static int8 quantization from calibration windows: ONNX Runtime (QDQ) and litert-torch (PT2E)."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from .backends import quiet_native_output
from .deploy import WindowModel


def quantize_onnx(fp32_path: Path, int8_path: Path, windows: np.ndarray) -> None:
    """QDQ, per-channel int8 weights, int8 activations with min-max ranges from the windows."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Windows(CalibrationDataReader):
        def __init__(self):
            self.items = iter({"accel": w[None]} for w in windows)

        def get_next(self):
            return next(self.items, None)

    prepared = int8_path.with_name(f".{int8_path.stem}.prepared.onnx")
    quant_pre_process(str(fp32_path), str(prepared))
    try:
        quantize_static(str(prepared), str(int8_path), Windows(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8)
    finally:
        prepared.unlink(missing_ok=True)


def quantize_tflite(model: WindowModel, windows: np.ndarray, path: Path) -> dict:
    """Full-integer TFLite (int8 input and output) through PT2E, calibrated on the windows."""
    _quiet_converter_logs()
    with quiet_native_output():
        import litert_torch
        from litert_torch.quantize.quant_config import QuantConfig
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        example = (torch.from_numpy(windows[:1]),)
        quantizer = _residual_quantizer()
        graph = torch.export.export(model, example).module()
        prepared = prepare_pt2e(graph, quantizer)
        with torch.no_grad():
            for window in windows:
                prepared(torch.from_numpy(window[None]))
        converted = convert_pt2e(prepared, fold_quantize=False)
        litert_torch.convert(converted, example, quant_config=QuantConfig(pt2e_quantizer=quantizer)).export(str(path))
    _strip_names(path)
    return _io_details(path)


def _strip_names(path: Path) -> None:
    """Drop tensor names and signatures (module paths: about a fifth of the file); flash is scarce."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(path)
    flatbuffer_utils.strip_strings(model)
    flatbuffer_utils.write_model(model, path)


def _quiet_converter_logs() -> None:
    """The converter stack logs optional-kernel and TensorFlow start-up notices nobody can act on."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("torchao", "torch.utils._pytree", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _residual_quantizer():
    """litert-torch's PT2E quantizer, plus int8 residual additions.

    Its `add` annotator finds additions through source metadata that `torch.export` no longer
    records, so the residual ADDs stayed float, wrapped in DEQUANTIZE/QUANTIZE, and doubled the
    TFLite-Micro arena. Annotating every unannotated aten.add keeps the whole graph int8.
    """
    from litert_torch.quantize import pt2e_quantizer
    from litert_torch.quantize.pt2e_quantizer_utils import get_input_act_qspec, get_output_act_qspec
    from torch.fx import Node
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation

    class ResidualQuantizer(pt2e_quantizer.PT2EQuantizer):
        def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
            model = super().annotate(model)
            config = self.global_config
            for node in model.graph.nodes:
                if node.target == torch.ops.aten.add.Tensor and "quantization_annotation" not in node.meta:
                    node.meta["quantization_annotation"] = QuantizationAnnotation(
                        input_qspec_map={a: get_input_act_qspec(config) for a in node.args if isinstance(a, Node)},
                        output_qspec=get_output_act_qspec(config), _annotated=True)
            return model

    config = pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
    return ResidualQuantizer().set_global(config)


def _io_details(path: Path) -> dict:
    from ai_edge_litert.interpreter import Interpreter

    with quiet_native_output():
        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    ops = sorted({op["op_name"] for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE"})
    return {
        "input_shape": inp["shape"].tolist(), "input_dtype": np.dtype(inp["dtype"]).name,
        "input_scale": float(inp["quantization"][0]), "input_zero_point": int(inp["quantization"][1]),
        "output_shape": out["shape"].tolist(), "output_dtype": np.dtype(out["dtype"]).name,
        "output_scale": float(out["quantization"][0]), "output_zero_point": int(out["quantization"][1]),
        "ops": ops,
    }
