"""An export folder (RUN/export/) as the runtime reads it: its file names and `export.json`.

Stream, parity and the engines read exports through this module only, so running an exported
model never imports the exporter, nor torch. Anything missing or damaged is a UserError that
names the folder and the command that makes it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from ..core.decoding import Transitions
from ..core.errors import UserError
from ..core.export_report import CEngine, ExportReport
from ..core.features import with_memory
from ..core.metrics_report import MetricsReport
from ..core.reports import read_report
from ..core.run_files import METRICS_FILE, MODEL_FILE, model_fingerprint

EXPORT_DIR = "export"
EXPORT_JSON = "export.json"
FP32_ONNX, INT8_ONNX, INT8_TFLITE = "model_fp32.onnx", "model_int8.onnx", "model_int8.tflite"
STEP_FP32_ONNX, STEP_INT8_ONNX, STEP_INT8_TFLITE = "step_fp32.onnx", "step_int8.onnx", "step_int8.tflite"
DECODER_HEADER = "decoder.h"  # the causal decoder for firmware (decoder_c.py)


def export_command(run_folder: Path) -> str:
    """The command that (re)makes a run's int8 export: with --force where an export folder is in the way."""
    force = " --force" if (run_folder / EXPORT_DIR).exists() else ""
    return f"`edge-har export {run_folder} --int8{force}`"


@dataclass(frozen=True)
class Exported:
    """A finished export: `folder` is RUN/export, `report` its export.json."""

    folder: Path
    report: ExportReport

    @classmethod
    def open(cls, run_folder: str | Path) -> Exported:
        run_folder = Path(run_folder)
        path = run_folder / EXPORT_DIR / EXPORT_JSON
        if not run_folder.is_dir():
            raise UserError(f"{run_folder}: no such run folder")
        if (run_folder / EXPORT_JSON).is_file():  # the export folder itself, not the run that holds it
            raise UserError(f"{run_folder} is an export folder; give the training run that holds it: "
                            f"{run_folder.parent}")
        if not path.is_file():
            raise UserError(f"{run_folder}: no export; run {export_command(run_folder)} first")
        report = read_report(path, ExportReport, f"run {export_command(run_folder)} again")
        made_from, model = report.model_sha256, model_fingerprint(run_folder)
        if made_from is not None and model is not None and made_from != model:
            raise UserError(f"{path} was exported from another model than {run_folder / MODEL_FILE} (a copied "
                            f"export.json, or the run trained again since); run {export_command(run_folder)}")
        return cls(path.parent, report)

    @property
    def run_folder(self) -> Path:
        return self.folder.parent

    @property
    def classes(self) -> list[str]:
        return self.report.classes

    @property
    def receptive_field(self) -> int:
        return self.report.receptive_field

    @property
    def sample_rate_hz(self) -> float | None:
        return self.report.sample_rate_hz

    @property
    def label_delay_steps(self) -> int:
        """Each output names the step this many samples before the newest (`train --delay`)."""
        return self.report.label_delay_steps

    @property
    def input_units(self) -> str | None:
        """g, m/s2 or counts; None for exports made before units were recorded."""
        return self.report.input_units

    @property
    def readings(self) -> int:
        """Values per sample the model takes: the axes, then their memory in a model with one (|a|,
        if used, is computed from the axes)."""
        return self.report.input_shape[-1]

    @property
    def memory_keep(self) -> float:
        """The share of its memory the model keeps each step (features.Memory); 0: no memory."""
        return self.report.memory_keep

    @property
    def axes(self) -> int:
        """Values per sample the board sends."""
        return self.readings // 2 if self.memory_keep else self.readings

    def model_readings(self, x: np.ndarray) -> np.ndarray:
        """One stream's axes, (n, 3), as the model reads them: with their memory where it has one."""
        return with_memory(x, self.memory_keep) if self.memory_keep else x

    @cached_property
    def synthetic_data(self) -> bool:
        """Whether the model was trained on the built-in synthetic data (exports made before
        export.json said so are looked up in the run's metrics.json)."""
        if self.report.synthetic_data is not None:
            return self.report.synthetic_data
        try:
            return bool(read_report(self.run_folder / METRICS_FILE, MetricsReport, "").synthetic_data)
        except UserError:  # no readable metrics.json beside the export: nothing says synthetic
            return False

    def transitions(self) -> Transitions | None:
        """The decoder's transitions, or None where the export decodes nothing (or predates decoding)."""
        decoding = self.report.decoding
        if decoding.method != "forward" or decoding.transitions is None:
            return None
        return Transitions.from_dict(decoding.transitions)

    def require_int8(self, engine: str = "rolling") -> None:
        """Refuse an export without the int8 models an engine needs, with the command that makes them."""
        again = f"run {export_command(self.run_folder)}"
        if self.report.tflite_int8 is None:
            raise UserError(f"{self.folder}: exported without --int8, so there is no int8 model; {again}")
        if engine == "step" and (self.report.step is None or self.report.step.tflite_int8 is None):
            raise UserError(f"{self.folder}: no int8 step model (exported before step models existed); {again}")

    def path(self, name: str) -> Path:
        """A model file of the export, refused in one line when it is missing or is not the size
        export wrote (cut short by a full disk or a copy that broke off)."""
        path = self.folder / name
        again = f"run {export_command(self.run_folder)} again"
        if not path.is_file():
            raise UserError(f"{path}: missing from the export; {again}")
        expected = self.report.file_bytes.get(name)
        if expected is not None and path.stat().st_size != expected:
            differ = self._sizes_that_differ()
            if len(differ) > 1:
                raise UserError(f"{self.folder / EXPORT_JSON} does not describe the files beside it ({', '.join(differ)} "
                                f"differ in size from what it lists): it is another export's report, or the export "
                                f"was damaged; {again}")
            raise UserError(f"{path}: damaged ({path.stat().st_size} bytes where the export wrote {expected}); {again}")
        return path

    def _sizes_that_differ(self) -> list[str]:
        """The files here whose size is not the one export.json records: one cut short is a damaged
        model; several, a report that belongs to another export."""
        return [name for name, size in self.report.file_bytes.items()
                if (self.folder / name).is_file() and (self.folder / name).stat().st_size != size]

    @property
    def c_engine(self) -> CEngine | None:
        """step_engine.c's part of the report; None where the export has none (fp32 only, older)."""
        return self.report.step.c_engine if self.report.step else None

    def tflm_arena(self, engine: str) -> int:
        """The TFLite-Micro arena that export measured for the window or step model."""
        model = self.report.step.tflite_int8 if engine == "step" and self.report.step else self.report.tflite_int8
        if model is None:
            raise UserError(f"{self.folder}: no int8 {engine} model; run {export_command(self.run_folder)}")
        return model.tflm_arena_bytes
