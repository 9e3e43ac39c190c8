"""Static int8 quantization: ONNX Runtime (QDQ) and litert-torch (PT2E).

Both take calibration inputs as a list of tuples, one tensor per model input: `(window,)` for
the window model, `(sample, *states)` for the step model.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import torch

from .adapters import final_annotation, litert_activation_qspecs, litert_op_names
from .native import quiet_native_output


def quantize_onnx(fp32_path: Path, int8_path: Path, inputs: list[tuple[np.ndarray, ...]]) -> None:
    """QDQ, per-channel int8 weights, int8 activations with min-max ranges from the inputs."""
    import onnx
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    graph = onnx.load(str(fp32_path)).graph
    names = [i.name for i in graph.input]

    class Feeds(CalibrationDataReader):
        def __init__(self):
            self.items = iter(dict(zip(names, tensors)) for tensors in inputs)

        def get_next(self):
            return next(self.items, None)

    prepared = int8_path.with_name(f".{int8_path.stem}.prepared.onnx")
    quant_pre_process(str(fp32_path), str(prepared))
    try:
        quantize_static(str(prepared), str(int8_path), Feeds(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                        nodes_to_exclude=_magnitude_nodes(onnx.load(str(prepared)).graph))
    finally:
        prepared.unlink(missing_ok=True)


def _magnitude_nodes(graph) -> list[str]:
    """The nodes that compute |a| (everything upstream of a Sqrt): kept float, because in int8
    the squares' range leaves gravity a few levels, and |a| would say nothing."""
    producers = {out: node for node in graph.node for out in node.output}
    chosen, pending = {}, [node for node in graph.node if node.op_type == "Sqrt"]
    while pending:
        node = pending.pop()
        if node.name not in chosen:
            chosen[node.name] = node
            pending.extend(producers[i] for i in node.input if i in producers)
    return list(chosen)


def quantize_tflite(model: torch.nn.Module, inputs: list[tuple[np.ndarray, ...]], path: Path) -> dict:
    """Full-integer TFLite (int8 inputs and outputs) through PT2E, calibrated on the inputs."""
    _quiet_converter_logs()
    with quiet_native_output():
        import litert_torch
        from litert_torch.quantize.quant_config import QuantConfig
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        example = tuple(torch.from_numpy(t) for t in inputs[0])
        quantizer = _int8_quantizer()
        graph = torch.export.export(model, example).module()
        prepared = prepare_pt2e(graph, quantizer)
        with torch.no_grad():
            for tensors in inputs:
                prepared(*(torch.from_numpy(t) for t in tensors))
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


def _int8_quantizer():
    """litert-torch's PT2E quantizer, plus int8 additions, concatenations and slices.

    Its `add` and `cat` annotators find their ops through source metadata that `torch.export`
    no longer records, so residual ADDs stayed float, wrapped in DEQUANTIZE/QUANTIZE, and
    doubled the TFLite-Micro arena. This annotates them directly. A concatenation shares one
    scale among its inputs and output, and a slice of it shares that scale: the step model's
    state output (a slice of [state, new column]) then has exactly its state input's quantization.
    """
    from litert_torch.quantize import pt2e_quantizer
    from torch.fx import Node
    from torchao.quantization.pt2e.quantizer import SharedQuantizationSpec

    def own_scales(node: Node, config):
        input_spec, output_spec = litert_activation_qspecs(config)
        return final_annotation({a: input_spec for a in node.args if isinstance(a, Node)}, output_spec)

    def one_scale(node: Node, config):
        first, *rest = node.args[0]
        shared = SharedQuantizationSpec((first, node))
        return final_annotation({first: litert_activation_qspecs(config)[0], **{a: shared for a in rest}}, shared)

    def input_scale(node: Node, _config):
        shared = SharedQuantizationSpec(node.args[0])
        return final_annotation({node.args[0]: shared}, shared)

    rules = {torch.ops.aten.add.Tensor: own_scales, torch.ops.aten.cat.default: one_scale,
             torch.ops.aten.slice.Tensor: input_scale}

    class Int8Quantizer(pt2e_quantizer.PT2EQuantizer):
        def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
            model = super().annotate(model)
            for node in model.graph.nodes:
                if node.target == torch.ops.aten.slice.Tensor and node.args[0].target != torch.ops.aten.cat.default:
                    continue  # other slices keep litert-torch's handling; only a state slice must share
                if node.target in rules and "quantization_annotation" not in node.meta:
                    node.meta["quantization_annotation"] = rules[node.target](node, self.global_config)
            return model

    config = pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
    return Int8Quantizer().set_global(config)


def _io_details(path: Path) -> dict:
    """Shape, type and quantization of the first input and output, plus every tensor's under
    `inputs`/`outputs` (in model order) and the operators used."""
    from ai_edge_litert.interpreter import Interpreter

    with quiet_native_output():
        interpreter = Interpreter(model_path=str(path))
        interpreter.allocate_tensors()
    inputs = [_tensor_details(d) for d in interpreter.get_input_details()]
    outputs = [_tensor_details(d) for d in interpreter.get_output_details()]
    ops = litert_op_names(interpreter)
    details = {f"input_{key}": value for key, value in inputs[0].items()}
    details.update({f"output_{key}": value for key, value in outputs[0].items()})
    if len(inputs) > 1:
        details.update(inputs=inputs, outputs=outputs)
    return {**details, "ops": ops}


def _tensor_details(details: dict) -> dict:
    scale, zero_point = details["quantization"]
    return {"shape": details["shape"].tolist(), "dtype": np.dtype(details["dtype"]).name,
            "scale": float(scale), "zero_point": int(zero_point)}
