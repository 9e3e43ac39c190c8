"""The label that marks a step no class names: kept out of the loss and every metric, never a class;
and the labels a model that labels a step some time back is held to."""

from __future__ import annotations

import numpy as np

UNLABELED = -1
# What a recording's label column may say of a step no class names (compared without case)
UNLABELED_NAMES = frozenset({"", "unlabeled", "unlabelled", "none", "null"})


def delayed_labels(y: np.ndarray, steps: int) -> np.ndarray:
    """The labels a model with a label delay (`--delay`) is held to: its output at step t names
    the step `steps` earlier, so step t carries y[t - steps]; the first `steps` carry none. (The
    last `steps` labels of a recording are never named: the stream ended before their turn.)"""
    if steps <= 0:
        return y
    return np.concatenate([np.full(min(steps, len(y)), UNLABELED, dtype=y.dtype), y[:max(len(y) - steps, 0)]])
