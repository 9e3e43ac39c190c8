"""The example firmware (firmware_host/device/) with the exported C step engine: built for the PC
and for each core of edge_har/device/cores.py under QEMU, streaming a held-out recording through a pseudo-terminal into
`edge-har stream`, which checks the device's own class against the host's models."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import tty
from pathlib import Path

import pytest

from edge_har.codegen.sensor_input import Board, BoardUnits, sensor_for_model
from edge_har.codegen.sensor_writer import write_sensor_input
from edge_har.data.dataset import at_rate
from edge_har.data.loading import load_data
from edge_har.device.c_backend import c_compiler
from edge_har.device.cores import CORES
from edge_har.device.firmware import PC_TARGET, build, device_target, write_board_recording, write_recording
from edge_har.runtime.export_folder import Exported

from .test_cli import EDGE_HAR


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    """sim6, the synthetic run's validation person (never trained on), as the firmware's flash."""
    data = load_data(None).select(["sim6"])
    rec = data.recordings[0]
    return write_recording(rec.x, rec.y, data.classes, data.sample_rate_hz, "g",
                           tmp_path_factory.mktemp("recording"), synthetic=True).parent


def _sim6_samples() -> int:
    """The readings of the firmware's recording (the `recording` fixture's)."""
    return len(load_data(None).select(["sim6"]).recordings[0])


def _stream(port: str, run: Path, summary: Path, samples: int) -> subprocess.Popen:
    """`edge-har stream` on `port`, with TFLite-Micro as the host's int8 model (the engine's reference),
    until the `samples` the firmware sends have arrived (no clock: a busy machine only makes it slower)."""
    return subprocess.Popen([EDGE_HAR, "stream", "--port", port, "--model", str(run), "--backend", "tflm_int8",
                             "--samples", str(samples), "--summary", str(summary)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_until_open(process: subprocess.Popen, port: str) -> None:
    """The stream holds the port open (a pseudo-terminal drops what nobody reads)."""
    for _ in range(600):
        fds = Path(f"/proc/{process.pid}/fd")
        if any(os.path.realpath(fd) == os.path.realpath(port) for fd in fds.iterdir()):
            return
        time.sleep(0.1)
    raise AssertionError(f"the stream never opened {port}")


def _check(summary_path: Path, samples: int) -> dict:
    summary = json.loads(summary_path.read_text())
    assert summary["samples"] == summary["device_steps"] == samples and summary["lost_samples"] == 0
    assert summary["device_int8_agreement"] == 1.0  # the device computes TFLite-Micro's int8 model exactly
    assert summary["device_fp32_agreement"] == summary["int8_fp32_agreement"]
    return summary


def _streams_from_the_pc(firmware: Path, run: Path, summary: Path, samples: int) -> tuple[str, str]:
    """The PC firmware on a pseudo-terminal's master side, streamed into `edge-har stream`; the
    stream's output and the firmware's standard error."""
    master, slave = os.openpty()
    tty.setraw(slave)
    stream = _stream(os.ttyname(slave), run, summary, samples)
    _wait_until_open(stream, os.ttyname(slave))
    device = subprocess.run([str(firmware), str(master)], pass_fds=[master], capture_output=True, text=True, timeout=1800)
    assert device.returncode == 0, device.stderr
    out, err = stream.communicate(timeout=1800)
    assert stream.returncode == 0, err
    return out, device.stderr


def _streams_under_qemu(core, firmware: Path, run: Path, summary: Path, samples: int) -> None:
    """`firmware` under QEMU, its serial line streamed into `edge-har stream`."""
    qemu = subprocess.Popen(core.command(str(firmware), serial="pty"), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
    try:
        port = re.search(r"(/dev/pts/\d+)", qemu.stdout.readline()).group(1)
        stream = _stream(port, run, summary, samples)
        _wait_until_open(stream, port)
        with open(port, "wb", buffering=0) as uart:
            uart.write(b"s")  # the firmware starts its replay on any byte
        _, err = stream.communicate(timeout=1800)
        assert stream.returncode == 0, err
    finally:
        qemu.kill()
        qemu.wait()


@pytest.mark.skipif(c_compiler() is None, reason="no C compiler ($CC, cc or gcc) on this machine")
def test_the_firmware_on_the_pc_streams_its_own_classes(exported, recording, tmp_path):
    firmware = build(exported / "export", recording, tmp_path / "build", PC_TARGET)
    out, device_err = _streams_from_the_pc(firmware, exported, tmp_path / "summary.json", _sim6_samples())
    sent = int(re.search(r"sent (\d+) samples", device_err).group(1))
    _check(tmp_path / "summary.json", sent)
    assert "device vs fp32" in out or "device/fp32 agreement" in out


@pytest.mark.parametrize("core", list(CORES.values()), ids=list(CORES))
def test_the_firmware_on_each_emulated_core_streams_its_own_classes(core, exported_16x8, recording, tmp_path):
    """The default export (16x8) on the device: the same classes as TFLite-Micro on every step, and
    agreeing with float on at least 99.5% of them."""
    if core.missing():
        pytest.skip(f"{core.title}: {core.missing()} (.ci/run installs them)")
    firmware = build(exported_16x8 / "export", recording, tmp_path / "build", device_target(core.name))
    _equals_tflm_under_qemu(core, firmware, exported_16x8, tmp_path)


def _equals_tflm_under_qemu(core, firmware: Path, exported_16x8: Path, tmp_path: Path) -> None:
    """`firmware` under QEMU, streamed into `edge-har stream`: the device's class TFLite-Micro's on every
    step, in less than a third of TFLite-Micro's arena, agreeing with float on at least 99.5% of the steps."""
    size_tool = core.compiler.removesuffix("gcc") + "size"
    size = subprocess.run([size_tool, str(firmware)], capture_output=True, text=True, check=True).stdout
    text, data, bss = (int(v) for v in size.splitlines()[1].split()[:3])
    report = json.loads((exported_16x8 / "export" / "export.json").read_text())
    assert bss < report["step"]["tflite_int8"]["tflm_arena_bytes"] / 3 + 1024  # engine, sample ring, stack-free
    _streams_under_qemu(core, firmware, exported_16x8, tmp_path / "summary.json", _sim6_samples())
    summary = _check(tmp_path / "summary.json", _sim6_samples())
    assert summary["device_fp32_agreement"] >= 0.995


# The exported CMake library's toolchain file for each core
TOOLCHAINS = {"m4": "cortex-m4", "m0": "cortex-m0", "rv32": "rv32imc"}


@pytest.mark.slow  # a minute a core under QEMU, beside the firmware test above, which runs every core
@pytest.mark.parametrize("core_name", ["m4", "m0", "rv32"])
def test_the_firmware_linked_against_the_cmake_library_streams_under_qemu(core_name, exported_16x8, recording,
                                                                         tmp_path):
    """The example firmware linking libedge_har_engine.a as RUN/export/library/ builds it with the
    core's toolchain file, instead of compiling step_engine.c itself (make test-slow)."""
    core = CORES[core_name]
    if core.missing() or shutil.which("cmake") is None:
        pytest.skip(f"{core.title}: {core.missing() or 'cmake is not installed'} (.ci/run installs them)")
    library = exported_16x8 / "export" / "library"
    for command in (["cmake", "-S", str(library), "-B", str(tmp_path / "lib"),
                     f"-DCMAKE_TOOLCHAIN_FILE={library}/toolchains/{TOOLCHAINS[core_name]}.cmake"],
                    ["cmake", "--build", str(tmp_path / "lib")]):
        subprocess.run(command, check=True, capture_output=True, timeout=1800)
    firmware = build(exported_16x8 / "export", recording, tmp_path / "build", device_target(core.name),
                     engine_library=tmp_path / "lib" / "libedge_har_engine.a")
    _equals_tflm_under_qemu(core, firmware, exported_16x8, tmp_path)


# A board's own sensor (firmware --board-rate): counts at the sensor's rate, converted on the device

LSM6DSO = BoardUnits.parse("0.061mg")


def _board_recording(run: Path, rate_hz: float, folder: Path) -> tuple[Path, int]:
    """sim6 at the board's rate in the LSM6DSO's counts, and the sensor input that converts them on the
    device; returns the folder and the number of readings."""
    export = Exported.open(run)
    data, _ = at_rate(load_data(None).select(["sim6"]), rate_hz)
    rec = data.recordings[0]
    sensor = sensor_for_model(export.folder / "step_int8.tflite", Board(rate_hz, LSM6DSO), export.sample_rate_hz,
                              export.input_units, export.memory_keep)
    write_board_recording(rec.x, rec.y, data.classes, rate_hz, "g", LSM6DSO, folder, synthetic=True)
    write_sensor_input(sensor, LSM6DSO, run.name, folder)
    return folder, len(rec)


def _check_board(summary_path: Path, readings: int) -> None:
    """Every reading arrived and the host converted it as the device did: the device's class is the
    host's on at least 99.5% of the steps it reported (the host's converter is the device's in float)."""
    summary = json.loads(summary_path.read_text())
    assert summary["samples"] == readings and summary["lost_samples"] == 0
    assert summary["rate_conversion"] is not None and summary["device_steps"] >= min(readings, summary["steps"]) * 0.98
    assert summary["device_int8_agreement"] >= 0.995 and summary["device_fp32_agreement"] >= 0.995


@pytest.mark.skipif(c_compiler() is None, reason="no C compiler ($CC, cc or gcc) on this machine")
def test_the_firmware_reads_a_26_hz_sensors_counts_and_labels_what_the_host_labels(exported_16x8, tmp_path):
    folder, readings = _board_recording(exported_16x8, 26, tmp_path / "board")
    firmware = build(exported_16x8 / "export", folder, tmp_path / "build", PC_TARGET, sensor=True)
    _streams_from_the_pc(firmware, exported_16x8, tmp_path / "summary.json", readings)
    _check_board(tmp_path / "summary.json", readings)


@pytest.mark.parametrize("core_name, rate", [
    ("m0", 52), pytest.param("rv32", 104, marks=pytest.mark.slow), pytest.param("m0", 26, marks=pytest.mark.slow),
    pytest.param("m4", 104, marks=pytest.mark.slow)])
def test_the_firmware_converts_the_sensors_rate_under_qemu(core_name, rate, exported_16x8, tmp_path):
    """Cores without an FPU (m0, rv32) run the converter in integers; the host stream labels alike."""
    core = CORES[core_name]
    if core.missing():
        pytest.skip(f"{core.title}: {core.missing()} (.ci/run installs them)")
    folder, readings = _board_recording(exported_16x8, rate, tmp_path / "board")
    firmware = build(exported_16x8 / "export", folder, tmp_path / "build", device_target(core.name), sensor=True)
    _streams_under_qemu(core, firmware, exported_16x8, tmp_path / "summary.json", readings)
    _check_board(tmp_path / "summary.json", readings)
