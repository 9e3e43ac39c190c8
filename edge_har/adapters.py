"""Every call into a private part of LiteRT, TFLite-Micro, torchao or litert-torch, in one place.

These libraries give no public way to do a few things edge-har needs (invoke LiteRT while
numpy views of its tensors are held, list a model's operators, count TFLite-Micro's inputs,
mark a PT2E annotation as final). The versions these calls were verified with are capped in
pyproject.toml; `problems()` checks that each one is still where it was, and a test turns a
change into a clear failure instead of an AttributeError deep in a stream.
"""

from __future__ import annotations

from pathlib import Path

from .native import quiet_native_output


def litert_invoke(interpreter):
    """LiteRT's C++ Invoke, which, unlike `Interpreter.invoke()`, runs while numpy views of the
    tensors are alive. edge-har's models have fixed shapes and are allocated once, so the views
    stay valid, and each input and output costs one memory copy instead of a set/get call."""
    return interpreter._interpreter.Invoke


def litert_op_names(interpreter) -> list[str]:
    """The operator names of a LiteRT model (delegate nodes left out)."""
    return sorted({op["op_name"] for op in interpreter._get_ops_details() if op["op_name"] != "DELEGATE"})


def tflm_input_count(interpreter) -> int:
    """TFLite-Micro's Python interpreter has no input count; probe until an index is refused."""
    count = 0
    with quiet_native_output():  # the refusal is also printed by the C++ side
        while True:
            try:
                interpreter.get_input_details(count)
            except (IndexError, RuntimeError, ValueError):
                return count
            count += 1


def final_annotation(input_qspec_map: dict, output_qspec):
    """A torchao PT2E annotation that other annotators must leave alone (`_annotated`)."""
    from torchao.quantization.pt2e.quantizer import QuantizationAnnotation

    return QuantizationAnnotation(input_qspec_map=input_qspec_map, output_qspec=output_qspec, _annotated=True)


def litert_activation_qspecs(config):
    """litert-torch's input and output activation specs for a quantization config."""
    from litert_torch.quantize.pt2e_quantizer_utils import get_input_act_qspec, get_output_act_qspec

    return get_input_act_qspec(config), get_output_act_qspec(config)


def problems(tflite_path: Path, training: bool = True) -> list[str]:
    """What no longer works as this module expects, for an int8 .tflite model with one input or
    more; `training` also checks the converter side (torchao, litert-torch)."""
    from importlib.metadata import version

    from ai_edge_litert.interpreter import Interpreter
    from tflite_micro import runtime

    found = []

    def check(name: str, attempt) -> None:
        try:
            attempt()
        except Exception as err:  # any change of a private API shows up as some exception
            found.append(f"{name}: {type(err).__name__}: {err}")

    with quiet_native_output():
        litert = Interpreter(model_path=str(tflite_path))
        litert.allocate_tensors()
    check(f"ai-edge-litert {version('ai-edge-litert')} Interpreter._interpreter.Invoke",
          lambda: callable(litert_invoke(litert)) or _fail("not callable"))
    check(f"ai-edge-litert {version('ai-edge-litert')} Interpreter._get_ops_details",
          lambda: litert_op_names(litert) or _fail("no operators listed"))
    check(f"tflite-micro {version('tflite-micro')} input probing",
          lambda: tflm_input_count(runtime.Interpreter.from_file(str(tflite_path), arena_size=1 << 20))
          == len(litert.get_input_details()) or _fail("wrong input count"))
    if training:
        check(f"torchao {version('torchao')} QuantizationAnnotation(_annotated=...)",
              lambda: final_annotation({}, None)._annotated or _fail("not kept"))
        check(f"litert-torch {version('litert-torch')} pt2e_quantizer_utils activation specs", _litert_qspecs)
    return found


def _litert_qspecs() -> None:
    from litert_torch.quantize import pt2e_quantizer

    config = pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False)
    if None in litert_activation_qspecs(config):
        _fail("no activation spec")


def _fail(message: str):
    raise AssertionError(message)
