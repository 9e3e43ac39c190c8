"""The device side: the emulated board, the example firmware and the cores it is built for, the
engine's logits and cost on each core under QEMU, and the C engine as a backend. No torch."""

from .c_backend import C_ENGINE, CStepBackend, c_compiler
from .core_logits import core_logits
from .cores import CORES, Core
from .cost import BENCH_SAMPLES, core_cost, duty_cycle
from .emulator import EmulatorOptions, Faults, Terminal, emulate
from .firmware import PC_TARGET, build, device_target, write_recording

__all__ = [
    "BENCH_SAMPLES", "CORES", "CStepBackend", "C_ENGINE", "Core", "EmulatorOptions", "Faults", "PC_TARGET",
    "Terminal", "build", "c_compiler", "core_cost", "core_logits", "device_target", "duty_cycle", "emulate",
    "write_recording",
]
