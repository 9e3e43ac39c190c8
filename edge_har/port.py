"""The serial port a board is on: opening it with a message a user can act on, reading what has
arrived, and waiting for a port that vanished (a board reset or a pulled cable) to come back."""

from __future__ import annotations

import time
from collections.abc import Callable

import serial

from .errors import UserError

READ_TIMEOUT_S = 0.05


def open_port(path: str, baud: int) -> serial.Serial:
    try:
        return serial.Serial(path, baud, timeout=READ_TIMEOUT_S)
    except serial.SerialException as err:
        if isinstance(err.__context__, PermissionError) or "Permission denied" in str(err):
            raise UserError(f"{path}: permission denied (on Linux, add yourself to the 'dialout' group)") from None
        if isinstance(err.__context__, FileNotFoundError) or "No such file" in str(err):
            raise UserError(f"{path}: no such port (is the board plugged in? `ls /dev/tty*` lists ports)") from None
        raise UserError(f"{path}: cannot open the port ({err})") from None


def read_available(port: serial.Serial) -> bytes | None:
    """Whatever has arrived (b'' when nothing did), or None when the port has gone away."""
    try:
        return port.read(max(1, port.in_waiting))
    except (serial.SerialException, OSError):
        return None


def reopen(path: str, baud: int, timeout_s: float, give_up: Callable[[], bool]) -> serial.Serial | None:
    """The port again once it is back, or None after `timeout_s` or when `give_up()` says so."""
    deadline = time.monotonic() + timeout_s
    while not give_up() and time.monotonic() < deadline:
        try:
            return open_port(path, baud)
        except UserError:
            time.sleep(0.1)
    return None
