"""The causal TCN (PyTorch), its folding for export, the step model, a run folder's model, and the
PyTorch reference backends. Training install only."""

from .folding import WindowModel, folded_tcn, folded_window_model, tflite_input
from .run_folder import CALIBRATION_FILE, CONFIG_FILE, DECODING_FILE, HOLDOUT_FILE, METRICS_FILE, Run, default_run_dir, save_model
from .step import StepTCN, folded_step_model, stream_states
from .tcn import TCN, config_for_receptive_field, count_params, macs_per_step, macs_per_window, predict_logits
from .torch_backends import TorchBackend, TorchStepBackend, pytorch_reference

__all__ = [
    "CALIBRATION_FILE", "CONFIG_FILE", "DECODING_FILE", "HOLDOUT_FILE", "METRICS_FILE", "Run", "StepTCN",
    "TCN", "TorchBackend", "TorchStepBackend", "WindowModel", "config_for_receptive_field", "count_params",
    "default_run_dir", "folded_step_model", "folded_tcn", "folded_window_model", "macs_per_step",
    "macs_per_window", "predict_logits", "pytorch_reference", "save_model", "stream_states", "tflite_input"
]
