"""`edge-har record`: capture a board's stream into the CSV that `train --data` reads."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from .files import check_new_file
from .frames import Info, Reader, Sample
from .interrupt import ctrl_c_sets
from .port import open_port, read_available


def record(port_path: str, label: str, out: Path, duration: float, baud: int = 115200,
           rate_hz: float | None = None, scale: float = 1.0) -> int:
    """Write t,ax,ay,az,label rows for `duration` seconds (or until Ctrl-C); returns the row count.
    Rows go to a temporary file that is renamed into place, so a crash never leaves half a CSV."""
    check_new_file(out)
    port = open_port(port_path, baud)
    reader = Reader("auto", channels=3)
    tmp = out.with_name(f".{out.name}.partial")
    rows, rate = 0, rate_hz
    started = time.monotonic()
    interrupted = threading.Event()
    try:
        with open(tmp, "w") as csv, ctrl_c_sets(interrupted):
            csv.write("t,ax,ay,az,label\n")
            while time.monotonic() - started < duration and not interrupted.is_set():
                data = read_available(port)
                if data is None:
                    break
                for item in reader.feed(data):
                    if isinstance(item, Info):
                        scale = float(item.fields.get("scale", scale))
                        rate = rate or float(item.fields.get("rate_hz", 0)) or None
                    elif isinstance(item, Sample):
                        t = rows / rate if rate else time.monotonic() - started
                        x, y, z = (v * scale for v in item.xyz)
                        csv.write(f"{t:.4f},{x:.6g},{y:.6g},{z:.6g},{label}\n")
                        rows += 1
        tmp.replace(out)
    finally:
        port.close()
        tmp.unlink(missing_ok=True)
    return rows
