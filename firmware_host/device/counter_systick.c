/* The Arm SysTick as the benchmark's counter: 24 bits, counting down, clocked by the core. */
#include "counter.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

void eh_counter_init(void) {
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 5u; /* enabled, clocked by the CPU, no interrupt */
}

uint32_t eh_counter_now(void) { return SYST_CVR; }

uint32_t eh_counter_since(uint32_t before) { return (before - SYST_CVR) & 0xFFFFFFu; }

void eh_counter_calibration_loop(uint32_t iterations) {
    __asm__ volatile(".syntax unified\n1: subs %0, %0, #1\n bne 1b" : "+r"(iterations) : : "cc");
}
