"""`stream --log`: one CSV row per step and per event, flushed as it goes so an interrupted stream keeps its log."""

from __future__ import annotations

import csv
from pathlib import Path

from .session import StepRecord

# names_step: the step the classes name (`step` less the model's label delay; empty until the stream reaches
# it); true: that step's label; t: seconds into the stream; *_decoded: after the causal filter, empty where
# the export decodes nothing;
# device: the class the board's own model sent (protocol version 2), empty where it sends none;
# event: a row of its own (the other columns empty) for each gap, reset and damaged reading
COLUMNS = ("step", "names_step", "stream", "seq", "t", "x", "y", "z", "true", "int8", "fp32", "int8_decoded", "fp32_decoded",
           "device", "event")
STEP_COLUMNS = COLUMNS[:-1]  # a step's row; an event's has only `event`


class StepLog:
    def __init__(self, path: Path | None):
        self.file = open(path, "w", newline="", buffering=1) if path else None  # noqa: SIM115 (open for the whole stream)
        self.writer = csv.DictWriter(self.file, COLUMNS, extrasaction="ignore") if self.file else None
        if self.writer:
            self.writer.writeheader()

    def write(self, step: StepRecord) -> None:
        if self.writer:
            self.writer.writerow({name: getattr(step, name) for name in STEP_COLUMNS})

    def event(self, text: str) -> None:
        if self.writer:
            self.writer.writerow({"event": text})

    def close(self) -> None:
        if self.file:
            self.file.close()
