"""The two installs: the host runtime (`pip install edge-har`) runs exported models; the training
install (`pip install 'edge-har[train]'`) adds PyTorch and the converters for train and export."""

from __future__ import annotations

import importlib.util

from .errors import UserError

TRAIN_INSTALL = "pip install 'edge-har[train]'"


def has_training_stack() -> bool:
    """Whether PyTorch is installed (found, not imported: importing it takes seconds)."""
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):  # a broken entry for it in sys.modules
        return False


def require_training_stack(command: str) -> None:
    """Refuse, in one line, a training-side command on the host install."""
    if not has_training_stack():
        raise UserError(f"`edge-har {command}` needs the training install (PyTorch and the model converters), "
                        f"which this environment lacks: {TRAIN_INSTALL}")
