"""Sizes before memory: what a dataset will take is reckoned before it is made or read, and a size
that cannot fit is one line, not minutes of allocation ending in the kernel's OOM killer."""

from __future__ import annotations

import os

from .errors import DataError

GB = 1 << 30
HEADROOM = 2  # the data once, and as much again for what training and checking derive from it


def available_bytes() -> int:
    """Memory the kernel says can be had without swapping (MemAvailable), or free pages elsewhere."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def check_fits(need_bytes: float, what: str, fix: str) -> None:
    """Refuse `what` when it and what is derived from it would not fit in the memory there is now."""
    available = available_bytes()
    if need_bytes * HEADROOM > available:
        raise DataError(f"{what} takes about {need_bytes / GB:.1f} GB of memory, and about as much again in use; "
                        f"this machine has {available / GB:.1f} GB available. {fix}")
