"""`edge-har parity`: every exported backend against fp32 on the same data, and the plots. No torch
(the PyTorch reference is handed in by the CLI)."""

from .parity import ParityOptions, parity, rolling_windows

__all__ = [
    "ParityOptions", "parity", "rolling_windows"
]
