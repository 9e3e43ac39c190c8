"""What every layer shares, numpy only: user errors, units, rate conversion, labels, decoding, metrics,
configs, file writing, Ctrl-C and SIGTERM. Imports nothing else of edge-har."""

from .config import (
    DEFAULT_DELAY_S,
    EXPORT_MIN_AGREEMENT,
    PARITY_MIN_AGREEMENT,
    AdaptConfig,
    ModelConfig,
    RunConfig,
    TrainConfig,
    dataclass_from_dict,
    model_config_from_dict,
)
from .decoding import (
    DECODE_CHOICES,
    DEFAULT_DECODE,
    FLOOR,
    ForwardFilter,
    Transitions,
    change_delays,
    softmax,
    transitions_from_labels,
)
from .errors import DataError, GateFailure, UserError
from .features import MAGNITUDE_EPS, pad_start, with_magnitude
from .files import MB, check_destination, check_new_file, check_new_folder, staged_dir, staged_file, transient_file, write_json
from .install import TRAIN_INSTALL, has_training_stack
from .interrupt import ctrl_c_sets
from .labels import UNLABELED, delayed_labels
from .metrics import agreement, confusion_matrix, summarize
from .native import quiet_native_output
from .resample import SAME_RATE, StreamResampler, ratio, resample, resample_labels
from .rotation import random_rotations, rotation_matrices
from .run_files import CALIBRATION_FILE, CONFIG_FILE, DECODING_FILE, HOLDOUT_FILE, METRICS_FILE, MODEL_FILE
from .units import UNIT_NAMES, canonical, factor, infer

__all__ = [
    "AdaptConfig", "CALIBRATION_FILE", "CONFIG_FILE", "DECODE_CHOICES", "DECODING_FILE", "DEFAULT_DECODE",
    "DEFAULT_DELAY_S",
    "DataError", "EXPORT_MIN_AGREEMENT", "FLOOR", "ForwardFilter", "GateFailure", "HOLDOUT_FILE",
    "MAGNITUDE_EPS", "MB", "METRICS_FILE", "MODEL_FILE", "ModelConfig", "PARITY_MIN_AGREEMENT", "RunConfig",
    "SAME_RATE", "StreamResampler", "TRAIN_INSTALL", "TrainConfig", "Transitions", "UNIT_NAMES", "UNLABELED",
    "UserError", "agreement", "canonical", "change_delays", "check_destination", "check_new_file",
    "check_new_folder", "confusion_matrix", "ctrl_c_sets", "dataclass_from_dict", "delayed_labels",
    "factor",
    "has_training_stack", "infer", "model_config_from_dict", "pad_start", "quiet_native_output",
    "random_rotations", "ratio", "resample", "resample_labels", "rotation_matrices", "softmax", "staged_dir",
    "staged_file", "summarize", "transient_file", "transitions_from_labels", "with_magnitude", "write_json"
]
