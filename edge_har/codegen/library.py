"""The exported step engine as a library in the layouts firmware builds take (RUN/export/library/):
a CMake project (a static library target and an installable package, with toolchain files for
the Cortex-M4, M0 and rv32imc), an Arduino library (library.properties, src/, an example sketch),
a PlatformIO library.json and a Zephyr module (zephyr/module.yml, CMake, Kconfig), all over the
same sources in src/. Written from the templates in c/library/ ({{key}} fields: CMake's own
${...} and @...@ pass through)."""

from __future__ import annotations

import re
import shutil
from importlib.metadata import PackageNotFoundError, version
from importlib.resources import files
from pathlib import Path

from ..core.export_report import CEngine
from .engine_writer import ENGINE_C, ENGINE_H

LIBRARY_DIR = "library"
DECODER_H = "decoder.h"
TEMPLATES = files("edge_har.codegen") / "c" / "library"
# template -> where it goes in the library
LAYOUT = {
    "CMakeLists.txt.in": "CMakeLists.txt",
    "edge_har_engineConfig.cmake.in": "cmake/edge_har_engineConfig.cmake.in",
    "library.properties.in": "library.properties",
    "library.json.in": "library.json",
    "edge_har_basic.ino.in": "examples/edge_har_basic/edge_har_basic.ino",
    "module.yml": "zephyr/module.yml",
    "zephyr_CMakeLists.txt": "zephyr/CMakeLists.txt",
    "Kconfig.in": "zephyr/Kconfig",
    "toolchains/cortex-m4.cmake": "toolchains/cortex-m4.cmake",
    "toolchains/cortex-m0.cmake": "toolchains/cortex-m0.cmake",
    "toolchains/rv32imc.cmake": "toolchains/rv32imc.cmake",
}


def write_library(export_folder: Path, name: str, engine: CEngine, receptive_field: int,
                  rate_hz: float | None, extra_sources: list[str] | None = None) -> Path:
    """RUN/export/library/ from the engine beside it (step_engine.c/.h, decoder.h where it decodes,
    and `extra_sources`, such as a board's sensor_input.c/.h)."""
    library = export_folder / LIBRARY_DIR
    shutil.rmtree(library, ignore_errors=True)
    (library / "src").mkdir(parents=True)
    sources = [ENGINE_C, ENGINE_H, *([DECODER_H] if engine.decoded else []), *(extra_sources or [])]
    for source in sources:
        shutil.copyfile(export_folder / source, library / "src" / source)
    fields = _fields(name, engine, receptive_field, rate_hz, [f"src/{s}" for s in sources if s.endswith(".h")],
                     [f"src/{s}" for s in sources if s.endswith(".c")])
    for template, target in LAYOUT.items():
        path = library / target
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(re.sub(r"\{\{(\w+)\}\}", lambda m: fields[m.group(1)], (TEMPLATES / template).read_text()))
    return library


def _fields(name: str, engine: CEngine, receptive_field: int, rate_hz: float | None, headers: list[str],
            sources: list[str]) -> dict:
    ident = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_") or "model"
    return {
        "name": name, "version": _version(), "bits": str(engine.bits), "classes": str(engine.class_count),
        "receptive_field": str(receptive_field), "ram_bytes": str(engine.ram_bytes),
        "rate": f"{rate_hz:g} Hz" if rate_hz else "the rate of its training data",
        "period_ms": str(round(1000 / rate_hz)) if rate_hz else "20",
        "arduino_name": f"EdgeHar_{ident}", "platformio_name": f"edge-har-engine-{ident.lower().replace('_', '-')}",
        "headers": " ".join(headers), "sources": " ".join(sources),
        "zephyr_sources": " ".join(f"${{CMAKE_CURRENT_LIST_DIR}}/../{source}" for source in sources),
    }


def _version() -> str:
    try:
        return version("edge-har")
    except PackageNotFoundError:  # a checkout on PYTHONPATH
        return "0.0.0"
