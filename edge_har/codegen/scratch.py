"""Scratch slots for the program's columns: each column a slot of the widest column's size,
free again after the last step that reads it (the sample is the caller's and has none)."""

from __future__ import annotations

from .engine_ir import Program
from .tflite_graph import Tensor


def allocate(program: Program, tensors: list[Tensor]) -> None:
    last_read: dict[int, int] = {}
    for i, step in enumerate(program.steps):
        for tensor in step.reads():
            last_read[tensor] = i
    written = [step.writes() for step in program.steps]
    width = max(tensors[column].channels for column in written if column is not None)
    free: list[int] = []
    count = 0
    live: dict[int, int] = {}
    for i, new in enumerate(written):
        if new is not None:
            slot = free.pop() if free else count
            count = max(count, slot + 1)
            program.slots[new] = slot
            live[new] = slot
        for held in list(live):
            if last_read.get(held, -1) <= i and held != new:
                free.append(live.pop(held))
    program.slot_width, program.slot_values = width, count * width
