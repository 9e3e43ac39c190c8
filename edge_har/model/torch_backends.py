"""The PyTorch fp32 reference as a backend, for parity and export checks (training install only)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..runtime.backends import StepBackend
from .folding import WindowModel, folded_window_model
from .run_folder import Run
from .step import StepTCN
from .tcn import TCN, predict_logits


class TorchBackend:
    name = "pytorch_fp32"

    def __init__(self, model: WindowModel, batch: int = 4096):
        self.model, self.batch = model.eval(), batch

    @torch.no_grad()
    def predict(self, windows: np.ndarray) -> np.ndarray:
        return np.concatenate([self.model(torch.from_numpy(windows[i:i + self.batch])).numpy()
                               for i in range(0, len(windows), self.batch)])


class TorchStepBackend(StepBackend):
    name = "pytorch_fp32"

    def __init__(self, model: StepTCN):
        self.model, self.receptive_field = model.eval(), model.receptive_field

    def clear(self) -> None:
        self.states = self.model.initial_states()

    @torch.no_grad()
    def step(self, sample: np.ndarray) -> np.ndarray:
        logits, *self.states = self.model(torch.from_numpy(np.asarray(sample, dtype=np.float32)[None]), *self.states)
        return logits[0].numpy()


class TorchSequenceBackend:
    """The trained model over a whole recording in full-sequence causal passes: the reference
    that every step model must match."""

    name = "pytorch_fp32"

    def __init__(self, model: TCN):
        self.model = model.eval()

    def run(self, x: np.ndarray) -> np.ndarray:
        return predict_logits(self.model, x.astype(np.float32))


def pytorch_reference(run_folder: Path, engine: str):
    """The fp32 PyTorch model of a run, as the reference for the rolling or the step engine."""
    model = Run(run_folder).model
    return TorchSequenceBackend(model) if engine == "step" else TorchBackend(folded_window_model(model))
