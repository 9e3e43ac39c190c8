"""`edge-har record`: capture a board's stream into the CSV that `train --data` reads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from ..core.files import check_new_file, staged_file
from ..core.interrupt import ctrl_c_sets
from .board import BoardInput
from .frames import Info, Reader, Sample
from .port import open_port, read_available


def record(port_path: str, label: str, out: Path, duration: float, baud: int = 115200,
           rate_hz: float | None = None, scale: float = 1.0, force: bool = False) -> int:
    """Write t,ax,ay,az,label rows for `duration` seconds (or until Ctrl-C); returns the row count.
    Rows go to a temporary file that is renamed into place, so a crash never leaves half a CSV.
    Readings that are not finite numbers once scaled are left out (the CSV reader refuses them)."""
    check_new_file(out, force=force)
    port = open_port(port_path, baud)
    reader = Reader("auto", channels=3)
    board = BoardInput(None, None, None, None, scale)  # --rate, where given, outranks the board's
    rows = 0
    started = time.monotonic()
    interrupted = threading.Event()
    try:
        with staged_file(out) as tmp, open(tmp, "w") as csv, ctrl_c_sets(interrupted):
            csv.write("t,ax,ay,az,label\n")
            while time.monotonic() - started < duration and not interrupted.is_set():
                data = read_available(port)
                if data is None:
                    break
                for item in reader.feed(data):
                    if isinstance(item, Info):
                        board.declare(item.fields)
                    elif isinstance(item, Sample) and (reading := board.reading(item.xyz)) is not None:
                        rate = rate_hz or board.rate_hz
                        t = rows / rate if rate else time.monotonic() - started
                        x, y, z = reading.tolist()
                        csv.write(f"{t:.4f},{x:.6g},{y:.6g},{z:.6g},{label}\n")
                        rows += 1
                csv.flush()
    finally:
        port.close()
    return rows
