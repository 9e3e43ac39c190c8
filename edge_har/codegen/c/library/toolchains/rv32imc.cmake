# 32-bit RISC-V rv32imc (no DSP, no FPU; ESP32-C3 class), with Debian's riscv64-unknown-elf-gcc and picolibc
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)
set(CMAKE_C_COMPILER riscv64-unknown-elf-gcc)
set(CMAKE_C_FLAGS_INIT "-march=rv32imc -misa-spec=2.2 -mabi=ilp32 -mcmodel=medany --specs=picolibc.specs -ffunction-sections -fdata-sections")
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
