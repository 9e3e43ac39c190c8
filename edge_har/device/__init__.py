"""The device side: the emulated board, the example firmware, its cost on a Cortex-M4 under QEMU,
and the C engine as a backend. No torch."""

from .c_backend import C_ENGINE, CStepBackend, c_compiler
from .cost import BENCH_SAMPLES, cortex_m4_cost, missing_tools
from .emulator import EmulatorOptions, Faults, Terminal, emulate
from .firmware import ARM_GCC, MPS2_TARGET, PC_TARGET, build, write_recording

__all__ = [
    "ARM_GCC", "BENCH_SAMPLES", "CStepBackend", "C_ENGINE", "EmulatorOptions", "Faults", "MPS2_TARGET",
    "PC_TARGET", "Terminal", "build", "c_compiler", "cortex_m4_cost", "emulate", "missing_tools",
    "write_recording"
]
