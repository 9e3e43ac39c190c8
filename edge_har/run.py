"""A run directory: the self-describing folder a training leaves behind, and how to read it.

Layout: `model.pt` (weights plus everything needed to rebuild the model), `config.json`
(the RunConfig), `metrics.json` (DESIGN.md section 4), `calibration.npz` and `holdout.npz`
(windows for quantization and its checks) and PNG plots. A run is built in a
hidden temporary folder and renamed into place only when complete, so a failed or
interrupted training never leaves a folder that looks finished.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

from .config import RunConfig, model_config_from_dict
from .errors import UserError
from .model import TCN

MODEL_FILE = "model.pt"
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.json"
CALIBRATION_FILE = "calibration.npz"  # windows from the training subjects, for int8 quantization
HOLDOUT_FILE = "holdout.npz"  # windows from the validation subject(s), never trained on


def default_run_dir(root: Path = Path("runs")) -> Path:
    return root / datetime.now().strftime("run-%Y%m%d-%H%M%S")


@contextlib.contextmanager
def staged_dir(final: Path, replace: bool = False):
    """Yield a temporary sibling folder; move it to `final` only if the block succeeds.
    An existing `final` is an error, or with `replace` is swapped out only at that moment."""
    if final.exists() and not replace:
        raise UserError(f"{final} already exists; choose another --out or remove it")
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_json(path: Path, content: dict) -> None:
    """Write JSON through a temporary name so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(content, indent=2, default=_jsonable))
    tmp.replace(path)


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


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
        if not (self.folder / MODEL_FILE).is_file():
            raise UserError(f"{self.folder}: not a training run (no {MODEL_FILE}); train one with `edge-har train`")
        saved = torch.load(self.folder / MODEL_FILE, map_location="cpu", weights_only=True)
        self.classes: list[str] = saved["classes"]
        self.sample_rate_hz: float | None = saved["sample_rate_hz"]
        self.model = TCN(model_config_from_dict(saved["model_config"]))
        self.model.load_state_dict(saved["state_dict"])
        self.model.eval()

    @property
    def receptive_field(self) -> int:
        return self.model.receptive_field

    @property
    def config(self) -> RunConfig:
        return RunConfig.load(self.folder / CONFIG_FILE)

    @property
    def metrics(self) -> dict:
        return json.loads((self.folder / METRICS_FILE).read_text())
