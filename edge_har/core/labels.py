"""The label that marks a step no class names: kept out of the loss and every metric, never a class."""

UNLABELED = -1
# What a recording's label column may say of a step no class names (compared without case)
UNLABELED_NAMES = frozenset({"", "unlabeled", "unlabelled", "none", "null"})
