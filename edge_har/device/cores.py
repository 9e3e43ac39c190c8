"""The cores the example firmware and the C step engine are built for, each run under QEMU from
Debian's packages: what builds it, how QEMU runs it, and what is missing where it cannot.
Host side only: make, the cross compilers and QEMU, no torch."""

from __future__ import annotations

import shutil
from dataclasses import dataclass


@dataclass(frozen=True)
class Core:
    name: str  # the Makefile's CORE: device_NAME.elf, logits_NAME.elf, bench_NAME.elf
    title: str
    qemu: tuple[str, ...]  # the command up to -kernel
    compiler: str
    packages: str  # what apt-get installs for it
    dsp: bool  # whether the engine takes its DSP path here (__ARM_FEATURE_DSP)

    def command(self, elf: str, serial: str = "stdio", icount: bool = False) -> list[str]:
        return [*self.qemu, "-nographic", "-monitor", "none", "-serial", serial,
                *(["-icount", "shift=0"] if icount else []), "-kernel", elf]

    def missing(self) -> str | None:
        """Why this core cannot be built and run here, or None where it can."""
        absent = [tool for tool in (self.compiler, self.qemu[0]) if shutil.which(tool) is None]
        if not absent:
            return None
        return f"{' and '.join(absent)} not installed (`apt-get install {self.packages}`)"


ARM_PACKAGES = "gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
CORES = {core.name: core for core in (
    Core("m4", "Cortex-M4 (mps2-an386)", ("qemu-system-arm", "-M", "mps2-an386"), "arm-none-eabi-gcc", ARM_PACKAGES,
         True),
    Core("m33", "Cortex-M33 (mps2-an505)", ("qemu-system-arm", "-M", "mps2-an505"), "arm-none-eabi-gcc",
         ARM_PACKAGES, True),
    Core("m0", "Cortex-M0 (microbit, nRF51822)", ("qemu-system-arm", "-M", "microbit"), "arm-none-eabi-gcc",
         ARM_PACKAGES, False),
    Core("rv32", "32-bit RISC-V rv32imc (virt)", ("qemu-system-riscv32", "-M", "virt", "-bios", "none"),
         "riscv64-unknown-elf-gcc", "gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf qemu-system-misc", False),
)}
M4 = CORES["m4"]
