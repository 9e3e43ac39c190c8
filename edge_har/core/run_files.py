"""The file names inside a run folder, shared by the trainer and the runtime (which has no torch)."""

import hashlib
from pathlib import Path

MODEL_FILE = "model.pt"  # weights plus everything needed to rebuild the model
CONFIG_FILE = "config.json"  # the RunConfig
METRICS_FILE = "metrics.json"  # DESIGN.md section 4
CALIBRATION_FILE = "calibration.npz"  # windows from the training subjects, for int8 quantization
HOLDOUT_FILE = "holdout.npz"  # windows from the validation subject(s), never trained on
DECODING_FILE = "decoding.json"  # the causal decoder's transitions, from the training labels (decoding.py)


def model_fingerprint(run_folder: Path) -> str | None:
    """The sha256 of a run's model.pt (None where the folder has none): export.json records it, so
    an export.json beside another model is known for what it is."""
    path = run_folder / MODEL_FILE
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
