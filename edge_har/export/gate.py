"""Export's agreement gate: every integer model must agree with fp32 on at least --min-agreement of
the run's held-out windows (its validation people's, or where every person trained, windows of them
other than the calibration's); the files stay either way, and the report says on whom it
judged and what was tried."""

from __future__ import annotations

from ..core.errors import GateFailure
from ..core.export_report import Gate, JudgedOn, Quantization, StepModels, WindowInt8, agreements
from ..runtime.export_folder import EXPORT_DIR


class ParityGateError(GateFailure):
    """The files were written, but an int8 model disagrees with fp32 too often."""


def gate_report(window: WindowInt8, step: StepModels, quantization: Quantization,
                validation_subjects: list[str] | None, minimum: float) -> Gate:
    """What the gate judged, on whom, and whether it passed."""
    agreed = agreements(window, step)
    tried = [f"{t.activations} activations{' from quantization-aware weights' if t.qat else ''} "
             f"(lowest agreement {min(t.agreement_with_fp32.values()):.4f})" for t in quantization.tried]
    return Gate(
        min_agreement=minimum,
        judged_on=JudgedOn(validation_subjects=validation_subjects, windows=window.holdout_windows,
                           step_windows=step.checked_windows, tflm_step_windows=step.tflm_checked_windows,
                           note=_judged_on(validation_subjects)),
        quantization=("post-training with int8 weights, activation ranges from the calibration windows "
                      "(int8: min-max for ONNX, histogram, litert-torch's PT2E default, for TFLite; int16: "
                      "min-max for both); tried " + ", then ".join(tried)),
        below={name: value for name, value in agreed.items() if value < minimum},
        passed=all(value >= minimum for value in agreed.values()),
    )


def _judged_on(validation_subjects: list[str] | None) -> str:
    if validation_subjects:
        return "the run's validation subject(s): people the model never trained on"
    return ("windows of the people the model trained on (every person trained: `train --val-subjects 0`), not those "
            "of its calibration; `edge-har parity RUN --data PATH` judges people it never saw")


def enforce(gate: Gate | None) -> None:
    """Raise ParityGateError where the gate failed, with what to try next."""
    if gate is None or gate.passed:
        return
    names = ", ".join(f"{k} {v:.4f}" for k, v in gate.below.items())
    people = ", ".join(gate.judged_on.validation_subjects or [])
    whom = f"{people} (never trained on)" if people else "windows of the people it trained on"
    raise ParityGateError(
        f"int8 agreement with fp32 below --min-agreement {gate.min_agreement}: {names}, on {whom}. "
        f"Tried: {gate.quantization}. The int8 files are kept in {EXPORT_DIR}/; `edge-har parity "
        "RUN --data PATH` shows which classes int8 changes on your own people. Next: another calibration set "
        "(`edge-har calibrate`, then `export --calibration F.npz`), or retrain (another --seed)")
