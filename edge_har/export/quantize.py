"""Static quantization: ONNX Runtime (QDQ) and litert-torch (PT2E). Weights are int8 per channel;
activations int8, or int16 (TFLite's 16x8 mode) where int8 cannot hold the logits' small
margins (export.py decides).

Both take calibration inputs as a list of tuples, one tensor per model input: `(window,)` for
the window model, `(sample, *states)` for the step model.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from ..core.native import quiet_native_output
from ..runtime.adapters import litert_op_names
from .converter_adapters import final_annotation, litert_activation_qspecs

ACTIVATIONS = ("int8", "int16")


def quantize_onnx(fp32_path: Path, int8_path: Path, inputs: list[tuple[np.ndarray, ...]],
                  activations: str = "int8", **calibration) -> None:
    """QDQ, per-channel int8 weights, int8 or int16 activations with min-max ranges from the inputs
    (`calibration`: another of ONNX Runtime's range estimators, as `quantize_static` arguments)."""
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
                        activation_type=QuantType.QInt16 if activations == "int16" else QuantType.QInt8,
                        weight_type=QuantType.QInt8,
                        nodes_to_exclude=_magnitude_nodes(onnx.load(str(prepared)).graph), **calibration)
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


def quantize_tflite(model: torch.nn.Module, inputs: list[tuple[np.ndarray, ...]], path: Path,
                    activations: str = "int8") -> dict:
    """Full-integer TFLite through PT2E, calibrated on the inputs: int8 weights, and int8 or int16
    activations (inputs and outputs included)."""
    _quiet_converter_logs()
    with quiet_native_output():
        import litert_torch
        from litert_torch.quantize.quant_config import QuantConfig
        from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e

        example = tuple(torch.from_numpy(t) for t in inputs[0])
        quantizer = integer_quantizer(activations)
        graph = torch.export.export(model, example).module()
        prepared = prepare_pt2e(graph, quantizer)
        with torch.no_grad():
            for tensors in inputs:
                prepared(*(torch.from_numpy(t) for t in tensors))
        converted = convert_pt2e(prepared, fold_quantize=False)
        litert_torch.convert(converted, example, quant_config=QuantConfig(pt2e_quantizer=quantizer)).export(str(path))
    _strip_names(path)
    if activations == "int16":
        _widen_biases(path)
    return _io_details(path)


def _strip_names(path: Path) -> None:
    """Drop tensor names and signatures (module paths: about a fifth of the file); flash is scarce."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(path)
    flatbuffer_utils.strip_strings(model)
    flatbuffer_utils.write_model(model, path)


def _widen_biases(path: Path) -> None:
    """16x8 convolutions with int64 biases. The converter writes int32 ones, which TFLite-Micro
    runs but LiteRT reads wrongly (0.04 agreement with fp32 on a HAPT model, 0.999 with int64)."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model(path)
    convs = {i for i, code in enumerate(model.operatorCodes)
             if max(code.builtinCode, code.deprecatedBuiltinCode) == schema.BuiltinOperator.CONV_2D}
    for graph in model.subgraphs:
        for op in graph.operators:
            if op.opcodeIndex not in convs or len(op.inputs) < 3 or op.inputs[2] < 0:
                continue
            bias = graph.tensors[op.inputs[2]]
            if bias.type == schema.TensorType.INT32:
                buffer = model.buffers[bias.buffer]
                wide = np.frombuffer(bytes(buffer.data), dtype=np.int32).astype(np.int64)
                buffer.data, bias.type = np.frombuffer(wide.tobytes(), dtype=np.uint8), schema.TensorType.INT64
    flatbuffer_utils.write_model(model, path)


def _quiet_converter_logs() -> None:
    """The converter stack logs optional-kernel and TensorFlow start-up notices nobody can act on."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for name in ("torchao", "torch.utils._pytree", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)


def integer_quantizer(activations: str = "int8"):
    """litert-torch's PT2E quantizer (int8 weights; int8 activations, or int16 ones), plus
    quantized additions, concatenations and slices.

    Its `add` and `cat` annotators find their ops through source metadata that `torch.export`
    no longer records, so residual ADDs stayed float, wrapped in DEQUANTIZE/QUANTIZE, and
    doubled the TFLite-Micro arena. This annotates them directly. A concatenation shares one
    scale among its inputs and output, and a slice of it shares that scale: the step model's
    state output (a slice of [state, new column]) then has exactly its state input's quantization.
    The int16 step model joins state and column as pad + pad (step_model.py): that addition, its
    pads and its slice share one scale the same way.
    """
    from litert_torch.quantize import pt2e_quantizer
    from torch.fx import Node
    from torchao.quantization.pt2e.quantizer import SharedQuantizationSpec

    def own_scales(node: Node, config):
        input_spec, output_spec = litert_activation_qspecs(config)
        return final_annotation({a: input_spec for a in node.args if isinstance(a, Node)}, output_spec)

    def is_join(node: Node) -> bool:
        return node.target == torch.ops.aten.add.Tensor and all(
            isinstance(a, Node) and a.target == torch.ops.aten.pad.default for a in node.args)

    def one_scale(node: Node, config):
        first, *rest = node.args[0]
        shared = SharedQuantizationSpec((first, node))
        return final_annotation({first: litert_activation_qspecs(config)[0], **{a: shared for a in rest}}, shared)

    def annotate_join(node: Node, config) -> None:
        """pad(state) + pad(column) on the scale of the state's edge into its pad."""
        state_pad, column_pad = node.args
        root = SharedQuantizationSpec((state_pad.args[0], state_pad))
        state_pad.meta["quantization_annotation"] = final_annotation(
            {state_pad.args[0]: litert_activation_qspecs(config)[0]}, root)
        column_pad.meta["quantization_annotation"] = final_annotation({column_pad.args[0]: root}, root)
        node.meta["quantization_annotation"] = final_annotation({state_pad: root, column_pad: root}, root)

    def input_scale(node: Node, _config):
        shared = SharedQuantizationSpec(node.args[0])
        return final_annotation({node.args[0]: shared}, shared)

    class IntegerQuantizer(pt2e_quantizer.PT2EQuantizer):
        def annotate(self, model: torch.fx.GraphModule) -> torch.fx.GraphModule:
            model = super().annotate(model)
            for node in model.graph.nodes:
                if is_join(node):
                    annotate_join(node, self.global_config)
                elif "quantization_annotation" not in node.meta and rule_for(node):
                    node.meta["quantization_annotation"] = rule_for(node)(node, self.global_config)
            return model

    def rule_for(node: Node):
        if node.target == torch.ops.aten.cat.default:
            return one_scale
        if node.target == torch.ops.aten.slice.Tensor:  # only a state slice must share; others keep litert-torch's
            source = node.args[0]
            return input_scale if source.target == torch.ops.aten.cat.default or is_join(source) else None
        return own_scales if node.target == torch.ops.aten.add.Tensor else None

    config = pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
    if activations == "int16":
        config = replace(config, input_activation=_int16_activation(), output_activation=_int16_activation())
    return IntegerQuantizer().set_global(config)


def _int16_activation():
    """TFLite's 16x8 activations: symmetric int16 (zero point 0), min-max ranges. With 65,535
    levels an outlier costs little resolution, and torchao's histogram observer does not fit int16."""
    from torchao.quantization.pt2e import MinMaxObserver
    from torchao.quantization.pt2e.quantizer import QuantizationSpec

    return QuantizationSpec(dtype=torch.int16, quant_min=-32767, quant_max=32767, qscheme=torch.per_tensor_symmetric,
                            observer_or_fake_quant_ctr=MinMaxObserver.with_args(eps=2**-20))


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
