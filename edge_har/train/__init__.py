"""`edge-har train` and `edge-har adapt`: fitting, cross-validation, --wear, the R ladder,
adaptation to one wearer. Training install only."""

from .adapt_command import AdaptOptions, adapt
from .adaptation import MOVES, adaptation_curve, first_seconds, spread_seconds, wearer_dataset
from .cross_validation import cross_validate, split_validation
from .rf_search import Budget
from .train_command import TrainOptions, train
from .training import WindowSampler, evaluate, fit
from .wear import TIE, WEARS, most_general_of_the_best

__all__ = [
    "AdaptOptions", "Budget", "MOVES", "TIE", "TrainOptions", "WEARS", "WindowSampler", "adapt",
    "adaptation_curve", "cross_validate", "evaluate", "first_seconds", "fit", "most_general_of_the_best",
    "split_validation", "spread_seconds", "train", "wearer_dataset"
]
