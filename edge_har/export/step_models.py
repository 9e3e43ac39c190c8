"""The step model's share of `edge-har export`: step_fp32.onnx, step_int8.onnx, step_int8.tflite.

Inputs are `sample` (1, channels) in raw units and one state per dilated convolution; outputs
are `logits` and the new states, in the same order. int8 ranges come from (sample, state)
pairs met while streaming the calibration windows, so the states have the ranges a live
stream gives them. Each model is checked by streaming held-out windows from their first
sample: the last step's logits must match the window model's fp32 logits of that window. The
ONNX models take any batch, so they stream all windows at once; LiteRT streams them one by
one, and TFLite-Micro (slow on a PC) an even spread of them.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import torch
from rich.console import Console

from ..core.export_report import OnnxCheck, StepModels, TfliteModel
from ..core.files import transient_file
from ..core.metrics import agreement
from ..data.calibration import WindowSet
from ..model.folding import folded_window_model, tflite_input
from ..model.step import StepTCN, folded_step_model, stream_states
from ..model.tcn import TCN
from ..model.torch_backends import TorchBackend
from ..runtime.backends import LiteRTStepBackend, TflmStepBackend, tflm_arena_bytes
from ..runtime.export_folder import STEP_FP32_ONNX, STEP_INT8_ONNX, STEP_INT8_TFLITE
from .quantize import quantize_onnx, quantize_tflite

STEP_TOLERANCE = 1e-4  # max abs logit difference, fp32 step model against the fp32 window model
TFLM_CHECK_WINDOWS = 300  # held-out windows streamed through TFLite-Micro (2R - 1 steps each)


class StepExportError(RuntimeError):
    """A step model that breaks its contract (fp32 drift, or state quantization that differs)."""


def export_step_models(model: TCN, folder: Path, calibration: WindowSet, holdout: WindowSet, int8: bool,
                       console: Console, activations: str = "int8", source: TCN | None = None) -> StepModels:
    """The step models of `model`; the integer ones made from `source`'s weights where given."""
    step = folded_step_model(model)
    check = holdout.windows
    reference = TorchBackend(folded_window_model(model)).predict(check)
    fp32 = _export_onnx(step, folder / STEP_FP32_ONNX, check, reference)
    integer = (_export_int8(model, step, folder, calibration, check, reference, console, activations, source)
               if int8 else {})
    return StepModels(state_shapes=[list(shape) for shape in step.state_shapes()],
                      state_values=int(sum(np.prod(shape) for shape in step.state_shapes())),
                      checked_windows=len(check), onnx_fp32=fp32, **integer)


def _spread(count: int, total: int) -> np.ndarray:
    return np.linspace(0, total - 1, num=min(count, total)).astype(int)


def last_step_logits(backend, windows: np.ndarray) -> np.ndarray:
    """Each window streamed from its first sample; the logits of its last step."""
    return np.stack([backend.run(window)[-1] for window in windows])


def onnx_last_step_logits(path: Path, windows: np.ndarray, receptive_field: int) -> np.ndarray:
    """`last_step_logits` for an ONNX step model, every window streamed at once as one batch."""
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]
    states = [np.zeros([len(windows), *i.shape[1:]], dtype=np.float32) for i in session.get_inputs()[1:]]
    samples = [windows[:, 0]] * (receptive_field - 1) + list(windows.transpose(1, 0, 2))
    for sample in samples:
        logits, *states = session.run(None, dict(zip(names, [np.ascontiguousarray(sample), *states])))
    return logits


def _write_onnx(step: StepTCN, path: Path, sample: np.ndarray) -> None:
    example = (torch.from_numpy(sample), *step.initial_states())
    names = input_names(step) + output_names(step)
    torch.onnx.export(step, example, str(path), input_names=input_names(step), output_names=output_names(step),
                      dynamic_axes={name: {0: "batch"} for name in names}, opset_version=17, dynamo=False)


@contextmanager
def _fp32_onnx_of(other: StepTCN | None, folder: Path, sample: np.ndarray) -> Iterator[Path]:
    """The fp32 step ONNX to quantize: the exported one, or a transient one of `other`'s weights."""
    if other is None:
        yield folder / STEP_FP32_ONNX
        return
    with transient_file(folder / f".source_{STEP_FP32_ONNX}") as path:
        _write_onnx(other, path, sample)
        yield path


def _export_onnx(step: StepTCN, path: Path, check: np.ndarray, reference: np.ndarray) -> OnnxCheck:
    import onnx

    _write_onnx(step, path, check[0, :1])
    onnx.checker.check_model(onnx.load(str(path)))
    logits = onnx_last_step_logits(path, check, step.receptive_field)
    difference = float(np.abs(logits - reference).max())
    if difference > STEP_TOLERANCE:
        raise StepExportError(f"the fp32 step model differs from the window model by {difference:.2e} "
                              f"(limit {STEP_TOLERANCE})")
    return OnnxCheck(max_abs_logit_difference_vs_window_model=difference)


def input_names(step: StepTCN) -> list[str]:
    return ["sample"] + [f"state_{i}" for i in range(len(step.convs))]


def output_names(step: StepTCN) -> list[str]:
    return ["logits"] + [f"next_state_{i}" for i in range(len(step.convs))]


def _export_int8(model: TCN, step: StepTCN, folder: Path, calibration: WindowSet, check: np.ndarray,
                 reference: np.ndarray, console: Console, activations: str, source: TCN | None) -> dict[str, Any]:
    """Integer step models of `source` (default: `model`, whose fp32 step model is `step`): their
    part of StepModels."""

    quantized = folded_step_model(source) if source else step
    inputs = stream_states(quantized, calibration.windows)
    console.print(f"Quantizing the step model with {len(inputs)} (sample, state) inputs from calibration streams "
                  f"({activations} activations)")
    with _fp32_onnx_of(quantized if source else None, folder, check[0, :1]) as fp32:
        quantize_onnx(fp32, folder / STEP_INT8_ONNX, inputs, activations)
    # The states do not depend on where |a| is computed: the TFLite model's inputs are the same
    # streams with the sample's feature channels handed in.
    tflite_inputs = [(tflite_input(model, sample), *states) for sample, *states in inputs]
    join = "pad" if activations == "int16" else "concat"  # the converter has no int16 CONCATENATION
    io = quantize_tflite(folded_step_model(source or model, features_inside=False, join=join), tflite_inputs,
                         folder / STEP_INT8_TFLITE, activations)
    _check_state_quantization(io)
    r = step.receptive_field
    litert = LiteRTStepBackend(folder / STEP_INT8_TFLITE, r)
    probe = [np.zeros(t["shape"], dtype=t["dtype"]) for t in io["inputs"]]
    arena = tflm_arena_bytes(folder / STEP_INT8_TFLITE, probe)
    tflm_picks = _spread(TFLM_CHECK_WINDOWS, len(check))
    console.print(f"Checking the int8 step models on {len(check)} streamed held-out windows "
                  f"({len(tflm_picks)} on TFLite-Micro)")
    classes = reference.argmax(1)
    litert_classes = last_step_logits(litert, check).argmax(1)
    tflm_classes = last_step_logits(TflmStepBackend(folder / STEP_INT8_TFLITE, arena, r), check[tflm_picks]).argmax(1)
    onnx_classes = onnx_last_step_logits(folder / STEP_INT8_ONNX, check, r).argmax(1)
    return {
        "tflite_int8": TfliteModel.model_validate({**io, "tflm_arena_bytes": arena}),
        "agreement_with_fp32": {"onnx_int8": agreement(onnx_classes, classes),
                                "tflite_int8": agreement(litert_classes, classes),
                                "tflm_int8": agreement(tflm_classes, classes[tflm_picks])},
        "tflm_matches_tflite": agreement(tflm_classes, litert_classes[tflm_picks]),
        "tflm_checked_windows": len(tflm_picks),
        "calibration_inputs": len(inputs),
    }


def _check_state_quantization(tflite: dict) -> None:
    """Every state output must have its state input's type, scale and zero point, and the type
    of the model's activations."""
    for i, (state_in, state_out) in enumerate(zip(tflite["inputs"][1:], tflite["outputs"][1:])):
        if state_in != state_out or state_in["dtype"] != tflite["input_dtype"]:
            raise StepExportError(f"state {i} goes in as {state_in} but comes out as {state_out}")
