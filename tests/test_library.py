"""RUN/export/library/: the step engine in the layouts firmware builds take. The CMake library built,
installed and found by another project on the host, its logits those of the engine; cross-built
for the Cortex-M4, M0 and rv32imc with its toolchain files; the Arduino sketch compiled as C++;
the Arduino, PlatformIO and Zephyr manifests holding the fields those tools require."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edge_har.codegen import write_library
from edge_har.codegen.sensor_input import Board, BoardUnits, convert, sensor_for_model
from edge_har.codegen.sensor_writer import write_sensor_input
from edge_har.core.export_report import CEngine
from edge_har.data.loading import load_data
from edge_har.device.c_backend import CStepBackend, c_compiler

from .test_c_engine import DRIVER, _spliced
from .test_cli import SUBPROCESS_LIMIT_S
from .test_sensor_input import DRIVER as SENSOR_DRIVER

needs_cmake = pytest.mark.skipif(shutil.which("cmake") is None or c_compiler() is None,
                                 reason="cmake and a C compiler are needed (apt-get install cmake gcc)")


def _library(exported: Path) -> Path:
    return exported / "export" / "library"


def _run(*command: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=SUBPROCESS_LIMIT_S)
    assert done.returncode == 0, f"{' '.join(command)}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    return done


def _properties(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_the_library_carries_the_engine_and_the_manifests_each_tool_requires(exported):
    library = _library(exported)
    for source in ("step_engine.c", "step_engine.h", "decoder.h"):  # this export decodes: decoder.h comes along
        assert (library / "src" / source).read_bytes() == (exported / "export" / source).read_bytes()
    arduino = _properties(library / "library.properties")
    required = ("name", "version", "author", "maintainer", "sentence", "paragraph", "category", "url", "architectures")
    assert [key for key in required if not arduino.get(key)] == []
    assert arduino["includes"] == "step_engine.h" and (library / "examples/edge_har_basic/edge_har_basic.ino").is_file()
    platformio = json.loads((library / "library.json").read_text())
    assert platformio["name"] and platformio["version"] == arduino["version"]
    assert platformio["build"]["srcDir"] == platformio["build"]["includeDir"] == "src"
    module = (library / "zephyr" / "module.yml").read_text()
    assert "cmake: zephyr" in module and "kconfig: zephyr/Kconfig" in module
    assert "config EDGE_HAR_ENGINE" in (library / "zephyr" / "Kconfig").read_text()
    assert "../src/step_engine.c" in (library / "zephyr" / "CMakeLists.txt").read_text()


CONSUMER = """cmake_minimum_required(VERSION 3.13)
project(consumer C)
find_package(edge_har_engine REQUIRED)
add_executable(engine_over_stdin {driver})
target_link_libraries(engine_over_stdin PRIVATE edge_har::engine)
"""


@needs_cmake
def test_the_cmake_library_installs_and_another_project_finds_it(exported, tmp_path):
    """cmake --install, then find_package(edge_har_engine) in a project of its own: the program it
    links streams a recording (NaN and infinities spliced in) into the logits of the engine as built here."""
    library, prefix = _library(exported), tmp_path / "prefix"
    _run("cmake", "-S", str(library), "-B", str(tmp_path / "build"), "-DCMAKE_BUILD_TYPE=Release")
    _run("cmake", "--build", str(tmp_path / "build"))
    _run("cmake", "--install", str(tmp_path / "build"), "--prefix", str(prefix))
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "CMakeLists.txt").write_text(CONSUMER.format(driver=DRIVER.as_posix()))
    _run("cmake", "-S", str(consumer), "-B", str(consumer / "build"), f"-DCMAKE_PREFIX_PATH={prefix}")
    _run("cmake", "--build", str(consumer / "build"))
    x = _spliced(load_data(None).select(["sim6"]).recordings[0].x[:1500])
    ran = subprocess.run([str(consumer / "build" / "engine_over_stdin")], input=x.astype(np.float32).tobytes(),
                         capture_output=True, timeout=SUBPROCESS_LIMIT_S)
    assert ran.returncode == 0, ran.stderr
    logits = np.array([[int(v) for v in line.split()] for line in ran.stdout.decode().splitlines()])
    report = json.loads((exported / "export" / "export.json").read_text())
    engine = CStepBackend(exported / "export", CEngine.model_validate(report["step"]["c_engine"]),
                          report["receptive_field"])
    np.testing.assert_array_equal(logits.astype(engine.dtype) * engine.scale + engine.offset, engine.run(x))


# toolchain file, its compiler, readelf's Machine for it
CORES = {"cortex-m4": ("arm-none-eabi-gcc", "ARM"), "cortex-m0": ("arm-none-eabi-gcc", "ARM"),
         "rv32imc": ("riscv64-unknown-elf-gcc", "RISC-V")}


@pytest.mark.slow  # three cross builds; the M4's also runs in test_firmware's library test
@needs_cmake
@pytest.mark.parametrize("core", CORES)
def test_the_library_cross_builds_with_its_toolchain_file(exported_16x8, tmp_path, core):
    compiler, machine = CORES[core]
    if shutil.which(compiler) is None:
        pytest.skip(f"{compiler} is not installed (apt-get install gcc-arm-none-eabi gcc-riscv64-unknown-elf)")
    library = _library(exported_16x8)
    _run("cmake", "-S", str(library), "-B", str(tmp_path), f"-DCMAKE_TOOLCHAIN_FILE={library}/toolchains/{core}.cmake")
    _run("cmake", "--build", str(tmp_path))
    archive = tmp_path / "libedge_har_engine.a"
    header = _run("readelf", "-h", str(archive)).stdout
    assert "ELF32" in header and machine in header


def test_the_arduino_sketch_compiles_as_cpp_against_the_library(exported, tmp_path):
    """Arduino compiles a sketch as C++ with Arduino.h first: here with a stand-in for it."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no C++ compiler (apt-get install g++)")
    (tmp_path / "Arduino.h").write_text("struct SerialPort { void begin(long) {} void println(const char *) {} };\n"
                                        "static SerialPort Serial;\nstatic void delay(unsigned long) {}\n")
    library = _library(exported)
    _run(compiler, "-std=c++11", "-Wall", "-Werror", "-fsyntax-only", "-include", str(tmp_path / "Arduino.h"),
         "-I", str(library / "src"), "-x", "c++", str(library / "examples/edge_har_basic/edge_har_basic.ino"))


SENSOR_CONSUMER = """cmake_minimum_required(VERSION 3.13)
project(consumer C)
add_subdirectory({library} engine)
add_executable(sensor_over_stdin {driver})
target_link_libraries(sensor_over_stdin PRIVATE edge_har::engine)
"""


@needs_cmake
def test_a_boards_sensor_input_joins_the_library(exported_16x8, tmp_path):
    """`export --board-rate 52 --board-units 0.061mg` writes sensor_input.c/.h into library/src
    (written here from the export as export writes them): CMake and Zephyr build them, and a program
    linking the library converts counts as the Python reference does."""
    export = tmp_path / "export"
    shutil.copytree(exported_16x8 / "export", export)
    report = json.loads((export / "export.json").read_text())
    board = Board(52.0, BoardUnits.parse("0.061mg"))
    sensor = sensor_for_model(export / "step_int8.tflite", board, report["sample_rate_hz"], "g", report["memory_keep"])
    sources = [path.name for path in write_sensor_input(sensor, board.units, "sim", export)]
    engine = CEngine.model_validate(report["step"]["c_engine"])
    library = write_library(export, "sim", engine, report["receptive_field"], report["sample_rate_hz"], sources)
    assert "src/sensor_input.c" in (library / "CMakeLists.txt").read_text()
    assert "../src/sensor_input.c" in (library / "zephyr" / "CMakeLists.txt").read_text()
    consumer = tmp_path / "consumer"
    consumer.mkdir()
    (consumer / "CMakeLists.txt").write_text(SENSOR_CONSUMER.format(library=library.as_posix(),
                                                                    driver=SENSOR_DRIVER.as_posix()))
    _run("cmake", "-S", str(consumer), "-B", str(consumer / "build"))
    _run("cmake", "--build", str(consumer / "build"))
    counts = np.rint(load_data(None).select(["sim6"]).recordings[0].x[:1500] / board.units.per_count).astype(np.int16)
    ran = subprocess.run([str(consumer / "build" / "sensor_over_stdin")], input=counts.tobytes(), capture_output=True,
                         timeout=SUBPROCESS_LIMIT_S, check=True)
    rows = np.array([[int(v) for v in line.split()] for line in ran.stdout.decode().splitlines()])
    inputs, completed_by, first = convert(sensor, counts)
    assert (rows[0, 1:] == first).all() and (rows[1:, 0] == completed_by).all() and (rows[1:, 1:] == inputs).all()
