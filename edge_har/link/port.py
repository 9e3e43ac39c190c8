"""The serial port a board is on: opening it (a device path or any pyserial URL, such as a serial
server's socket://HOST:PORT) with a message a user can act on, reading what has arrived, and
waiting for a port that vanished (a board reset, a pulled cable, a dropped connection) to come back."""

from __future__ import annotations

import time
from collections.abc import Callable

import serial

from ..core.errors import UserError

READ_TIMEOUT_S = 0.05
URL_READ_BYTES = 4096


def open_port(path: str, baud: int) -> serial.SerialBase:
    """A device path (/dev/ttyUSB0, COM3) or any URL pyserial knows: socket://HOST:PORT (a Wi-Fi
    serial bridge or a serial server's raw TCP port), rfc2217://HOST:PORT, loop://, ..."""
    try:
        # exclusive: a port has one reader, as a board's has; a second edge-har is told it is busy
        return serial.serial_for_url(path, baudrate=baud, timeout=READ_TIMEOUT_S, exclusive=True)
    except ValueError as err:  # a URL pyserial cannot parse (an unknown scheme, a bad port number)
        raise UserError(f"{path}: not a port or a port URL pyserial knows ({err})") from None
    except serial.SerialException as err:
        if "://" in path:
            raise UserError(f"{path}: cannot connect ({err}); is the board's serial server up?") from None
        if isinstance(err.__context__, PermissionError) or "Permission denied" in str(err):
            raise UserError(f"{path}: permission denied (on Linux, add yourself to the 'dialout' group)") from None
        if "exclusively lock" in str(err):  # pyserial's words when another reader holds the port
            raise UserError(f"{path}: the port is busy: another program (another edge-har stream or record?) is "
                            "reading it; stop that one first, a serial port has one reader") from None
        if isinstance(err.__context__, FileNotFoundError) or "No such file" in str(err):
            raise UserError(f"{path}: no such port (is the board plugged in? `ls /dev/tty*` lists ports)") from None
        raise UserError(f"{path}: cannot open the port ({err})") from None


def read_available(port: serial.SerialBase) -> bytes | None:
    """Whatever has arrived (b'' when nothing did), or None when the port has gone away."""
    try:
        if isinstance(port, serial.Serial):  # a device: its driver counts what waits
            return port.read(max(1, port.in_waiting))
        return port.read(URL_READ_BYTES)  # a URL port (a socket says only "something waits"): what comes in a read's time
    except (serial.SerialException, OSError):
        return None


def reopen(path: str, baud: int, timeout_s: float, give_up: Callable[[], bool]) -> serial.SerialBase | None:
    """The port again once it is back, or None after `timeout_s` or when `give_up()` says so."""
    deadline = time.monotonic() + timeout_s
    while not give_up() and time.monotonic() < deadline:
        try:
            return open_port(path, baud)
        except UserError:
            time.sleep(0.1)
    return None
