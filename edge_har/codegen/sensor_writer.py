"""sensor_input.h and sensor_input.c: a board's counts at its rate to a model's input, as C99 for a
firmware build beside step_engine.c (the tables of sensor_input.py over the code of c/sensor_input.c)."""

from __future__ import annotations

from pathlib import Path
from string import Template

from .c_sources import c_source
from .sensor_input import MEMORY_BITS, MEMORY_FRACTION, TAP_BITS, BoardUnits, SensorInput

SENSOR_C, SENSOR_H = "sensor_input.c", "sensor_input.h"


def write_sensor_input(sensor: SensorInput, board: BoardUnits, name: str, folder: Path) -> list[Path]:
    """sensor_input.h and .c in `folder`, for the engine of `name` (step_engine.h) beside them."""
    conversion = (f"The rate converter is the host stream's:\n * the same polyphase low-pass FIR "
                  f"({sensor.up * sensor.width} taps in Q{TAP_BITS}, {sensor.width} readings per model input).\n *"
                  if sensor.converting else "The rates are one: each reading is one model input.\n *")
    header = Template(c_source("sensor_input.h.in")).substitute(
        name=name, board_rate=f"{sensor.board_rate_hz:g}", model_rate=f"{sensor.model_rate_hz:g}",
        per_count=f"{board.per_count:g} {board.units}", per_count_value=repr(board.per_count),
        board_units=board.units, conversion=conversion, up=sensor.up, down=sensor.down, width=sensor.width,
        max_steps=sensor.max_steps, state_bytes=2 * sensor.width * 6 + 8)
    rows = ",\n".join("  {" + ", ".join(str(int(t)) for t in phase) + "}" for phase in sensor.taps)
    taps = (f"static const int16_t kEhSensorTaps[EDGE_HAR_SENSOR_UP][EDGE_HAR_SENSOR_WIDTH] = {{\n{rows}\n}};\n"
            if sensor.converting else "")
    source = "\n".join([
        "/* The board's sensor to the model's input (edge-har; regenerate, do not edit). */",
        f'#include "{SENSOR_H}"', "",
        f"#define EH_SENSOR_TAP_BITS {TAP_BITS}",
        f"#define EH_SENSOR_MEMORY_BITS {MEMORY_BITS}",
        f"#define EH_SENSOR_MEMORY_FRACTION {MEMORY_FRACTION}",
        f"#define EH_SENSOR_MEMORY_GAIN {sensor.memory_gain}  /* Q{MEMORY_BITS}: 1 - keep of the model's memory */",
        f"static const int64_t kEhSensorMultiplier = {sensor.multiplier};  /* Q31, then a right shift: */",
        f"static const int kEhSensorShift = {-sensor.shift};  /* 2^-{TAP_BITS} x units per count / input scale */",
        taps, c_source("sensor_input.c")])
    (folder / SENSOR_H).write_text(header)
    (folder / SENSOR_C).write_text(source)
    return [folder / SENSOR_H, folder / SENSOR_C]
