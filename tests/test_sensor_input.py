"""The board's sensor on the device (codegen/sensor_input.py, sensor_input.c): raw counts at the
sensor's rate to the model's quantized input, in integers. The generated C, compiled with the
sanitizers, equals the Python reference on every output, and the reference completes the same
steps with the same readings as the host stream's floating-point converter, within a few counts."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest

from edge_har.codegen.sensor_input import BoardUnits, convert, sensor_input
from edge_har.codegen.sensor_writer import write_sensor_input
from edge_har.core.errors import UserError
from edge_har.core.features import Memory, memory_keep
from edge_har.device.c_backend import c_compiler
from edge_har.link.board import BoardInput

DRIVER = Path(__file__).parent / "c" / "sensor_over_stdin.c"
LSM6DSO = BoardUnits.parse("0.061mg")
MODEL_RATE = 50.0


def _counts(n: int = 2000) -> np.ndarray:
    """A wrist-like stream in counts: slow tilts, steps, noise, and saturated stretches."""
    rng = np.random.default_rng(1)
    t = np.arange(n)
    x = np.stack([14000 * np.sin(t / 40.0), 9000 * np.cos(t / 7.0) + 6000, 16393 + 3000 * np.sin(t / 3.0)], axis=1)
    x += rng.normal(0, 400, x.shape)
    x[n // 2:n // 2 + 50] = [40000, -40000, 32767]  # beyond the sensor's full scale: held at the int16 ends
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def _header(folder: Path, bits: int, channels: int, zero_point: int) -> None:
    """The names of step_engine.h that sensor_input.c uses (six channels: a model with a memory)."""
    low = -(1 << (bits - 1))
    (folder / "step_engine.h").write_text(
        f"#include <stdint.h>\ntypedef int{bits}_t EdgeHarValue;\n#define EDGE_HAR_ENGINE_CHANNELS {channels}\n"
        f"#define EDGE_HAR_ENGINE_VALUE_MIN ({low})\n#define EDGE_HAR_ENGINE_VALUE_MAX {-low - 1}\n"
        f"#define EDGE_HAR_ENGINE_INPUT_ZERO_POINT {zero_point}\n"
        + ("#define EDGE_HAR_ENGINE_MEMORY 1\n" if channels == 6 else ""))


@pytest.mark.skipif(c_compiler() is None, reason="no C compiler ($CC, cc or gcc) on this machine")
@pytest.mark.parametrize("rate, bits, channels", [(26, 16, 3), (52, 16, 3), (104, 8, 3), (50, 16, 3), (12.5, 16, 4),
                                                  (104, 16, 4), (26, 16, 6), (50, 8, 6), (104, 16, 6)])
def test_the_c_sensor_input_equals_its_python_reference(rate, bits, channels, tmp_path):
    scale, zero_point = (2 / 65536, 0) if bits == 16 else (2 / 256, -3)  # inputs to +-1 g: saturated
    sensor = sensor_input(rate, MODEL_RATE, LSM6DSO, "m/s2", scale * 9.80665, zero_point, bits, channels,
                          memory_keep(10.0, MODEL_RATE) if channels == 6 else 0.0)
    _header(tmp_path, bits, channels, zero_point)
    write_sensor_input(sensor, LSM6DSO, "test", tmp_path)
    program = tmp_path / "sensor"
    subprocess.run([c_compiler(), "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-fsanitize=undefined",
                    "-fno-sanitize-recover=all", f"-I{tmp_path}", "-o", str(program), str(DRIVER),
                    str(tmp_path / "sensor_input.c")], check=True, capture_output=True)
    counts = _counts()
    out = subprocess.run([str(program)], input=counts.tobytes(), capture_output=True, check=True).stdout
    rows = np.array([[int(v) for v in line.split()] for line in out.decode().splitlines()])
    inputs, completed_by, first = convert(sensor, counts)
    assert rows[0, 0] == -1 and (rows[0, 1:] == first).all()
    assert (rows[1:, 0] == completed_by).all() and (rows[1:, 1:] == inputs).all()
    assert len(inputs) == -(-len(counts) * sensor.up // sensor.down)  # every model step the readings complete
    assert inputs.min() == -(1 << (bits - 1)) or inputs.max() == (1 << (bits - 1)) - 1  # saturation was reached


@pytest.mark.parametrize("rate, remember", [(26, False), (52, False), (104, False), (50, False), (52, True)])
def test_the_reference_completes_the_host_streams_steps_with_the_same_readings(rate, remember):
    """Device and host label the same steps: the host's converter is this one in floating point, and
    so is its memory of the axes (features.Memory) where the model has one."""
    input_scale, keep = 4 / 65536, memory_keep(10.0, MODEL_RATE)
    sensor = sensor_input(rate, MODEL_RATE, LSM6DSO, "g", input_scale, 0, 16, 6 if remember else 3,
                          keep if remember else 0.0)
    counts = _counts()
    inputs, completed_by, _ = convert(sensor, counts)
    board = BoardInput(MODEL_RATE, "g", rate, "g", LSM6DSO.per_count)
    readings = np.stack([board.reading(c) for c in counts])
    board.start(readings[0])
    steps = board.steps(readings, [None] * len(readings))
    assert [step.sample for step in steps] == completed_by.tolist()
    values = np.stack([step.values for step in steps])
    if remember:
        memory = Memory(keep)
        memory.start(readings[0])
        values = np.stack([memory.step(v) for v in values])
    host = np.clip(np.rint(values / np.float32(input_scale)), -32768, 32767)
    apart = np.abs(host - inputs)  # in int16 steps of 6e-5 g: the taps in Q14 against float32's
    assert apart.max() <= 6 and apart.mean() < 1


def test_a_sensors_counts_are_read_from_its_datasheet_sensitivity():
    assert BoardUnits.parse("0.061mg") == BoardUnits("g", 0.061e-3)
    assert BoardUnits.parse("3.9 mg") == BoardUnits("g", 3.9e-3)
    assert BoardUnits.parse("0.0006m/s2") == BoardUnits("m/s2", 0.0006)
    for text in ("g", "0.061", "-1mg", "0mg", "1 furlong"):
        with pytest.raises(UserError, match="what one count of the sensor is"):
            BoardUnits.parse(text)
    with pytest.raises(UserError, match="steps of the model's input"):  # a count bigger than the whole input range
        sensor_input(52, MODEL_RATE, BoardUnits.parse("100g"), "g", 1e-4, 0, 16, 3)
