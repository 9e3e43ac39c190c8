"""A run directory: the self-describing folder a training leaves behind, and how to read it.

Layout: `model.pt` (weights plus everything needed to rebuild the model), `config.json`
(the RunConfig), `metrics.json` (DESIGN.md section 4), `calibration.npz` and `holdout.npz`
(windows for quantization and its checks) and PNG plots. A run is built in a
hidden temporary folder and renamed into place only when complete, so a failed or
interrupted training never leaves a folder that looks finished.
"""

from __future__ import annotations

import pickle
import re
import zipfile
from dataclasses import asdict
from datetime import datetime
from functools import cached_property
from pathlib import Path

import torch

from ..core.config import RunConfig, model_config_from_dict
from ..core.errors import UserError
from ..core.metrics_report import MetricsReport
from ..core.reports import read_report
from ..core.run_files import CALIBRATION_FILE, CONFIG_FILE, DECODING_FILE, HOLDOUT_FILE, METRICS_FILE, MODEL_FILE  # noqa: F401 (re-exported)
from .tcn import TCN


def default_run_dir(root: Path = Path("runs")) -> Path:
    return root / datetime.now().strftime("run-%Y%m%d-%H%M%S")


def save_model(folder: Path, model: TCN, classes: list[str], sample_rate_hz: float | None) -> None:
    torch.save({
        "model_config": asdict(model.config),
        "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
        "classes": classes,
        "sample_rate_hz": sample_rate_hz,
        "receptive_field": model.receptive_field,
    }, folder / MODEL_FILE)


class Run:
    """A finished run directory, read back."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        path = self.folder / MODEL_FILE
        if not path.is_file():
            raise UserError(f"{self.folder}: not a training run (no {MODEL_FILE}); train one with `edge-har train`")
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            self.classes: list[str] = saved["classes"]
            self.sample_rate_hz: float | None = saved["sample_rate_hz"]
            self.model = TCN(model_config_from_dict(saved["model_config"]))
            self.model.load_state_dict(_named_layers(saved["state_dict"]))
        except (EOFError, OSError, RuntimeError, KeyError, TypeError, ValueError, pickle.UnpicklingError,
                zipfile.BadZipFile) as err:  # (OSError: torch's zip reader on a file cut short)
            reason = "empty" if path.stat().st_size == 0 else f"{type(err).__name__}: {str(err).splitlines()[0][:120]}"
            raise UserError(f"{path}: not a readable edge-har model ({reason}); it may be truncated or from another "
                            "tool: train the run again with `edge-har train`") from None
        self.model.eval()

    @cached_property
    def metrics(self) -> MetricsReport:
        """metrics.json (a run's saved fold models have none, and open without it)."""
        return read_report(self.folder / METRICS_FILE, MetricsReport, "train the run again with `edge-har train`")

    @property
    def receptive_field(self) -> int:
        return self.model.receptive_field

    @property
    def config(self) -> RunConfig:
        return RunConfig.load(self.folder / CONFIG_FILE)



def _named_layers(state: dict) -> dict:
    """Runs saved when a conv unit's layers were numbered (`units.0.0.weight`) load by the names
    they have now (`units.0.conv.weight`, `units.0.norm.*`)."""
    return {re.sub(r"(units\.\d+)\.0\.", r"\1.conv.", re.sub(r"(units\.\d+)\.1\.", r"\1.norm.", key)): value
            for key, value in state.items()}
