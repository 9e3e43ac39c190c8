"""The file names inside a run folder, shared by the trainer and the runtime (which has no torch)."""

MODEL_FILE = "model.pt"  # weights plus everything needed to rebuild the model
CONFIG_FILE = "config.json"  # the RunConfig
METRICS_FILE = "metrics.json"  # DESIGN.md section 4
CALIBRATION_FILE = "calibration.npz"  # windows from the training subjects, for int8 quantization
HOLDOUT_FILE = "holdout.npz"  # windows from the validation subject(s), never trained on
DECODING_FILE = "decoding.json"  # the causal decoder's transitions, from the training labels (decoding.py)
