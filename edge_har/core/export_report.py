"""export.json as a typed object (DESIGN.md section 4): what `edge-har export` wrote into RUN/export/,
how well each integer model agrees with fp32, and what the C step engine costs on each core.

The exporter builds an ExportReport and core/reports.py writes it; the runtime, parity and the
device side read it back through core/reports.py. Parts an export made without --int8 lacks are
left out of the file (`absent`)."""

from __future__ import annotations

from typing import Any

from .report_model import Section, absent

ENGINE_MATCHES = ("TFLite-Micro's reference kernels (int8: double rounding) on every path; LiteRT's optimized x86 "
                  "kernels round some requantizations differently, so its logits may differ from both by a unit")


class Decoding(Section):
    """The decoder the deployed model runs after every backend; `transitions` as decoding.json has them."""

    method: str  # "forward" or "none"
    note: str | None = absent()
    transitions: dict[str, Any] | None = absent()
    classes: list[str] | None = absent()
    from_labels_of: list[str] | None = absent()
    c_header: str | None = absent()  # decoder.h, the integer filter for firmware


class OnnxCheck(Section):
    max_abs_logit_difference_vs_pytorch: float | None = absent()  # the window model's
    max_abs_logit_difference_vs_window_model: float | None = absent()  # the step model's
    ops: list[str] | None = absent()


class TensorQuantization(Section):
    shape: list[int]
    dtype: str
    scale: float
    zero_point: int


class TfliteModel(Section):
    """An integer .tflite: its first input and output, every tensor's where it has several (the step
    model's states), the operators and the TFLite-Micro arena it needs."""

    input_shape: list[int]
    input_dtype: str
    input_scale: float
    input_zero_point: int
    output_shape: list[int]
    output_dtype: str
    output_scale: float
    output_zero_point: int
    inputs: list[TensorQuantization] | None = absent()
    outputs: list[TensorQuantization] | None = absent()
    ops: list[str]
    tflm_arena_bytes: int


class CoreCost(Section):
    """The engine measured on one emulated core (device/cost.py); QEMU counts instructions, not cycles."""

    core: str
    dsp_path: bool
    flash_bytes: int
    text_bytes: int
    data_bytes: int
    instructions_per_sample: int
    quantize_instructions_per_sample: int
    samples: int
    instructions_per_tick: float
    how: str
    instructions_per_mac: float | None = absent()


class NotMeasured(Section):
    not_measured: str  # why: the cross compiler or QEMU is missing, or export was not asked to


class CEngine(Section):
    """step_engine.c/.h (codegen/): its arithmetic, memory and cost per core."""

    bits: int
    decoded: bool
    ram_bytes: int
    state_bytes: int
    scratch_bytes: int
    channels: int
    readings: int = 3  # what quantize_reading takes: the axes, then their memory in a model with one
    class_count: int
    output_scale: float
    output_zero_point: int
    macs_per_step: int
    accumulators: list[int]  # per convolution: 32 or 64 bits (the same on every path)
    source: str
    header: str
    matches: str = ENGINE_MATCHES
    cores: dict[str, CoreCost | NotMeasured] = {}
    cortex_m4: CoreCost | NotMeasured | None = absent()  # cores["m4"], under the name earlier exports used


class StepModels(Section):
    """The step models (one new column per layer per sample) and their checks."""

    state_shapes: list[list[int]]
    state_values: int
    checked_windows: int
    onnx_fp32: OnnxCheck
    tflite_int8: TfliteModel | None = absent()
    agreement_with_fp32: dict[str, float] | None = absent()
    tflm_matches_tflite: float | None = absent()
    tflm_checked_windows: int | None = absent()
    calibration_inputs: int | None = absent()
    c_engine: CEngine | None = absent()


class Attempt(Section):
    """One way of quantizing that export tried."""

    activations: str
    qat: bool
    agreement_with_fp32: dict[str, float]


class Quantization(Section):
    weights: str
    activations: str
    qat: bool
    tried: list[Attempt]
    qat_config: dict[str, Any] | None = None


class JudgedOn(Section):
    validation_subjects: list[str] | None
    windows: int
    step_windows: int
    tflm_step_windows: int | None
    note: str


class Gate(Section):
    """What the agreement gate judged, on whom, and whether it passed."""

    min_agreement: float
    judged_on: JudgedOn
    quantization: str
    below: dict[str, float]
    passed: bool


class WindowInt8(Section):
    """The integer window models' part of the report."""

    tflite_int8: TfliteModel
    agreement_with_fp32: dict[str, float]
    tflm_matches_tflite: float
    holdout_windows: int
    calibration_windows: int


class ExportReport(Section):
    format_version: int = 0  # stamped by core/reports.py when written
    receptive_field: int
    classes: list[str]
    sample_rate_hz: float | None
    params: int | None = absent()
    macs_per_inference: int | None = absent()
    macs_per_step_streaming: int | None = absent()
    input_shape: list[int]
    output_shape: list[int] | None = absent()
    # Every output names the step this many samples before the newest (`train --delay`); 0 before it existed
    label_delay_steps: int = 0
    # The model's memory (`train --memory`): the axes' average, keeping this share each step; 0: none.
    # Its readings are the axes, then that average (features.Memory), which every engine computes.
    memory_keep: float = 0.0
    input_units: str | None  # g, m/s2 or counts; null for runs made before units were recorded
    input_normalization: str | None = absent()
    tflite_input_channels: list[str] | None = absent()
    synthetic_data: bool | None  # null for exports made before export.json said
    decoding: Decoding
    onnx_fp32: OnnxCheck | None = absent()
    tflite_int8: TfliteModel | None = absent()
    agreement_with_fp32: dict[str, float] | None = absent()
    tflm_matches_tflite: float | None = absent()
    holdout_windows: int | None = absent()
    calibration_windows: int | None = absent()
    quantization: Quantization | None = absent()
    gate: Gate | None = absent()
    step: StepModels | None = absent()
    file_bytes: dict[str, int] = {}
    model_sha256: str | None = absent()  # the run's model.pt it was exported from (run_files.model_fingerprint)


def agreements(window: WindowInt8, step: StepModels) -> dict[str, float]:
    """Every integer model's agreement with fp32: the window models', then the step models' ("step ...")."""
    return {**window.agreement_with_fp32,
            **{f"step {name}": value for name, value in (step.agreement_with_fp32 or {}).items()}}
