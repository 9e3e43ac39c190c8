"""The example firmware (firmware_host/device/): a held-out recording as the flash image it
replays, and the build for the PC and for each core of cores.py with the C step engine of an
export. Host side only: numpy, make and the compilers."""

from __future__ import annotations

import math
import shutil
import subprocess
from importlib.resources import files
from pathlib import Path

import numpy as np

from ..codegen.sensor_input import Board, BoardUnits, sensor_for_model
from ..codegen.sensor_writer import write_sensor_input
from ..core.errors import UserError
from ..core.files import check_new_folder, staged_dir
from ..core.labels import UNLABELED
from ..core.units import factor
from ..data.dataset import at_rate, units_of
from ..data.loading import load_data
from ..link.frames import SYNTHETIC_DECLARATION
from ..runtime.export_folder import STEP_INT8_TFLITE, Exported, export_command
from .cores import CORES

FIRMWARE = Path(str(files("edge_har.firmware_host")))  # firmware_host/, shipped inside the package
RECORDING_H = "recording.h"
PC_TARGET = "device_pc"


def count_scale(x: np.ndarray) -> float:
    """Model units per int16 count: a power of two, so that count * scale is exact in float32 on
    the device and in double on the host, and both quantize the same reading."""
    largest = float(np.abs(x).max()) or 1.0
    return 2.0 ** math.ceil(math.log2(largest / 32000))


def write_recording(x: np.ndarray, labels: np.ndarray, classes: list[str], rate_hz: float | None,
                    units: str | None, folder: Path, synthetic: bool = False) -> Path:
    """recording.h: the readings as int16 counts and their labels, in flash, and the info frame
    (which declares a recording from the built-in synthetic set as such, as the emulator does)."""
    scale = count_scale(x)
    return _write(np.rint(x / scale).astype(np.int16), labels, classes, rate_hz, scale, units, folder, synthetic,
                  f"static const float kEhRecordingScale = {scale!r}f;\n")


def write_board_recording(x: np.ndarray, labels: np.ndarray, classes: list[str], rate_hz: float, units: str,
                          board: BoardUnits, folder: Path, synthetic: bool = False) -> Path:
    """recording.h as a board's sensor gives it: readings in `units` (already at the board's rate) as
    the sensor's counts, saturated at the int16 range as a sensor saturates at its full scale."""
    counts = np.clip(np.rint(x * (factor(units, board.units) / board.per_count)), -32768, 32767).astype(np.int16)
    return _write(counts, labels, classes, rate_hz, board.per_count, board.units, folder, synthetic, "")


def _write(counts: np.ndarray, labels: np.ndarray, classes: list[str], rate_hz: float | None, scale: float,
           units: str | None, folder: Path, synthetic: bool, scale_line: str) -> Path:
    info = " ".join([*([f"rate_hz={rate_hz:g}"] if rate_hz else []), f"scale={scale!r}",
                     *([f"units={units}"] if units else []), f"classes={','.join(classes)}",
                     *(["=".join(SYNTHETIC_DECLARATION)] if synthetic else [])])
    if len(info) > 255:
        raise UserError(f"the info frame ({len(info)} bytes) holds at most 255: too many or too long class names")
    rows = ",\n".join(f"  {{{a}, {b}, {c}}}" for a, b, c in counts.tolist())
    label_bytes = ", ".join(str(255 if y == UNLABELED else int(y)) for y in labels)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / RECORDING_H
    path.write_text(
        "/* A recording replayed by the example firmware (edge-har; regenerate, do not edit). */\n"
        "#include <stdint.h>\n"
        f"#define kEhRecordingSamples {len(counts)}u\n"
        f"{scale_line}"
        f'static const char kEhInfo[] = "{info}";\n'
        f"static const int16_t kEhRecording[{len(counts)}][3] = {{\n{rows}\n}};\n"
        f"static const uint8_t kEhRecordingLabels[{len(counts)}] = {{{label_bytes}}};\n")
    return path


def device_target(core: str) -> str:
    """The example firmware's file for a core of cores.py."""
    return f"device_{core}.elf"


def check_build(export_folder: Path, target: str) -> None:
    """What building `target` needs (its compiler, the export's C engine), before anything is written."""
    core = next((c for c in CORES.values() if target == device_target(c.name)), None)
    if core is not None and shutil.which(core.compiler) is None:
        raise UserError(f"{core.compiler} is not installed: `apt-get install {core.packages}`")
    if not (export_folder / "step_engine.c").is_file():
        raise UserError(f"{export_folder}: no C step engine; run {export_command(export_folder.parent)}")


def build(export_folder: Path, recording_folder: Path, build_folder: Path, target: str,
          engine_library: Path | None = None, sensor: bool = False) -> Path:
    """make the firmware `target` (device_pc, or device_CORE.elf); returns the binary. With
    `engine_library` (libedge_har_engine.a, built from RUN/export/library/ for the target's core)
    the engine is linked from it, with the library's header, instead of compiled here. With `sensor`,
    the recording is a board's counts at its rate, which sensor_input.c beside recording.h converts."""
    check_build(export_folder, target)
    engine = [f"ENGINE={(export_folder / 'library' / 'src').resolve()}", f"ENGINE_LIB={engine_library.resolve()}"] \
        if engine_library else [f"ENGINE={export_folder.resolve()}"]
    made = subprocess.run(["make", "-s", "-C", str(FIRMWARE), f"BUILD={build_folder.resolve()}", *engine,
                           f"RECORDING={recording_folder.resolve()}", *(["SENSOR=1"] if sensor else []),
                           str(build_folder.resolve() / target)], capture_output=True, text=True)
    if made.returncode != 0:
        errors = [line for line in made.stderr.splitlines() if "error" in line.lower()] or made.stderr.splitlines()
        raise UserError(f"{target} did not build: {errors[0] if errors else 'make failed'}; an export from an older "
                        f"edge-har? run {export_command(export_folder.parent)}")
    return build_folder / target


# --target: the PC, or a core (mps2: the Cortex-M4 board, as earlier versions named it)
TARGETS = {"pc": PC_TARGET, **{name: device_target(name) for name in CORES}, "mps2": device_target("m4")}


def make_firmware(run: Path, data: str | None, subject: str, out: Path, targets: list[str],
                  sample_rate_hz: float | None = None, force: bool = False, board: Board | None = None) -> list[Path]:
    """recording.h from one subject's first recording and the firmware built for each target (pc, or
    a core) into the folder `out`, which appears only once every target is built (an existing one is
    replaced then, with `force`). The recording is at the model's rate in its units, or, with `board`,
    at the board's rate in its sensor's counts, which the generated sensor_input.c converts on the device."""
    unknown = sorted(set(targets) - set(TARGETS))
    if unknown:
        raise UserError(f"unknown target(s) {unknown}; choose from {', '.join(TARGETS)}")
    check_new_folder(out, force=force)
    export = Exported.open(run)
    for target in targets:
        check_build(export.folder, TARGETS[target])
    sensor = sensor_for_model(export.path(STEP_INT8_TFLITE), board, export.sample_rate_hz, export.input_units,
                              export.memory_keep) \
        if board else None
    dataset, _ = at_rate(load_data(data, sample_rate_hz).select([subject]),
                         sensor.board_rate_hz if sensor else export.sample_rate_hz)
    recording, units = dataset.recordings[0], units_of(dataset)[0]
    with staged_dir(out, replace=force) as folder:
        if board and sensor:
            write_board_recording(recording.x, recording.y, dataset.classes, sensor.board_rate_hz, units, board.units,
                                  folder, synthetic=dataset.synthetic)
            write_sensor_input(sensor, board.units, export.run_folder.name, folder)
        else:
            write_recording(recording.x, recording.y, dataset.classes, export.sample_rate_hz, units, folder,
                            synthetic=dataset.synthetic)
        built = [build(export.folder, folder, folder, TARGETS[target], sensor=sensor is not None).name
                 for target in targets]
    return [out / name for name in built]
