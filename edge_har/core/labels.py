"""The label that marks a step no class names: kept out of the loss and every metric, never a class."""

UNLABELED = -1
