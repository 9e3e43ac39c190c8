"""Ctrl-C for the commands that read a port until stopped (stream, record), and SIGTERM for all."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def ctrl_c_sets(flag: threading.Event) -> Iterator[None]:
    """Ctrl-C sets `flag` for a read loop to see, instead of raising inside whatever library call
    (inference, serial, the live view's lock) happens to be running. Signals reach the main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: flag.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _terminated(*_) -> None:
    raise KeyboardInterrupt("terminated (SIGTERM)")


@contextmanager
def sigterm_interrupts() -> Iterator[None]:
    """SIGTERM (`kill`, a service manager) ends a command as Ctrl-C does, so that what it cleans up
    on the way out (the emulator's link, a staged folder) is cleaned up: by default SIGTERM ends
    the process on the spot."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
