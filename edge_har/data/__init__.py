"""Labelled recordings: loading (.mat, CSV, the synthetic set), datasets and subject-wise splits,
window sets for calibration, augmentation, and which way a worn device points."""

from .augmentation import augment
from .calibration import CALIBRATION_PER_CLASS, WindowSet, load_windows, sample_windows, spread_windows
from .dataset import (
    HELD_BACK,
    Dataset,
    Recording,
    at_rate,
    check_cv,
    held_back_time,
    keep_classes,
    subject_folds,
    units_of,
    with_label_delay,
)
from .loading import load_data
from .orientation import TURNED_DEG, turned_back, vertical_axis, wear_turns
from .synthetic import CLASSES, synthetic_dataset

__all__ = [
    "CALIBRATION_PER_CLASS", "CLASSES", "Dataset", "HELD_BACK", "Recording", "TURNED_DEG", "WindowSet",
    "at_rate", "augment", "check_cv", "held_back_time", "keep_classes", "load_data", "load_windows",
    "sample_windows", "spread_windows", "subject_folds", "synthetic_dataset", "turned_back", "units_of",
    "vertical_axis", "wear_turns", "with_label_delay"
]
