"""`edge-har record`: capture a board's stream into the CSV that `train --data` reads."""

from __future__ import annotations

import csv
import threading
import time
from pathlib import Path
from typing import TextIO

from ..core.errors import UserError
from ..core.files import check_new_file, staged_file
from ..core.interrupt import ctrl_c_sets
from ..core.labels import UNLABELED_NAMES
from .board import BoardInput
from .frames import Info, Reader, Sample
from .port import open_port, read_available


class RecordingWriter:
    """Rows of the CSV that `train --data` reads, written so that it reads back each one as written:
    the label quoted where it holds a separator or a quote, and the time with every digit it has."""

    def __init__(self, file: TextIO, label: str):
        self.rows, self.label = 0, label
        self.csv = csv.writer(file, lineterminator="\n")
        self.csv.writerow(["t", "ax", "ay", "az", "label"])

    def add(self, t: float, reading: tuple[float, float, float]) -> None:
        self.csv.writerow([repr(float(t)), *(repr(float(v)) for v in reading), self.label])
        self.rows += 1


def check_label(label: str) -> None:
    """A label the CSV reader takes back as this class: not blank, not a word for "unlabelled", no
    spaces around it (the reader strips them), no line breaks."""
    if label.strip().lower() in UNLABELED_NAMES:
        raise UserError(f"--label {label!r}: a blank label or one of {sorted(UNLABELED_NAMES - {''})} marks steps that "
                        "no class names; give the activity's name, e.g. --label Walking")
    if label != label.strip() or any(c in label for c in "\r\n"):
        raise UserError(f"--label {label!r}: no spaces around it and no line breaks in it (the CSV reader would not "
                        f"read it back as written); e.g. --label {label.strip().splitlines()[0]!r}")


def record(port_path: str, label: str, out: Path, duration: float, baud: int = 115200,
           rate_hz: float | None = None, scale: float = 1.0, force: bool = False) -> int:
    """Write t,ax,ay,az,label rows for `duration` seconds (or until Ctrl-C); returns the row count.
    Rows go to a temporary file that is renamed into place, so a crash never leaves half a CSV.
    Readings that are not finite numbers once scaled are left out (the CSV reader refuses them)."""
    check_label(label)
    check_new_file(out, force=force)
    port = open_port(port_path, baud)
    reader = Reader("auto", channels=3)
    board = BoardInput(None, None, None, None, scale)  # --rate, where given, outranks the board's
    started = time.monotonic()
    interrupted = threading.Event()
    try:
        with staged_file(out) as tmp, open(tmp, "w", newline="", encoding="utf-8") as file, ctrl_c_sets(interrupted):
            writer = RecordingWriter(file, label)
            while time.monotonic() - started < duration and not interrupted.is_set():
                data = read_available(port)
                if data is None:
                    break
                for item in reader.feed(data):
                    if isinstance(item, Info):
                        board.declare(item.fields)
                    elif isinstance(item, Sample) and (reading := board.reading(item.xyz)) is not None:
                        rate = rate_hz or board.rate_hz
                        writer.add(writer.rows / rate if rate else time.monotonic() - started, tuple(reading.tolist()))
                file.flush()
    finally:
        port.close()
    return writer.rows
