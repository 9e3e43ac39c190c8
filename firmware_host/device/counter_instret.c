/* RISC-V's instret, the instructions retired, as the benchmark's counter (under QEMU with -icount
 * it counts what QEMU executed; the calibration still checks it). */
#include "counter.h"

void eh_counter_init(void) {}

uint32_t eh_counter_now(void) {
    uint32_t count;
    __asm__ volatile("csrr %0, minstret" : "=r"(count));
    return count;
}

uint32_t eh_counter_since(uint32_t before) { return eh_counter_now() - before; }

void eh_counter_calibration_loop(uint32_t iterations) {
    __asm__ volatile("1: addi %0, %0, -1\n bnez %0, 1b" : "+r"(iterations));
}
