/* Instructions per sample of the C step engine on the Cortex-M4, under QEMU with -icount shift=0
 * (one instruction per nanosecond of virtual time, so the SysTick, clocked by the CPU, counts
 * instructions / (1e9 / its clock)). A calibration loop of known length gives the instructions per
 * tick; the engine then steps through the recording in flash. One line goes out on UART0:
 * "calibration_instructions=I calibration_ticks=T steps=N step_ticks=S". */
#include <stdint.h>

#include "recording.h"
#include "step_engine.h"

#define UART_DATA (*(volatile uint32_t *)0x40004000u)
#define UART_STATE (*(volatile uint32_t *)0x40004004u)
#define UART_CTRL (*(volatile uint32_t *)0x40004008u)
#define UART_BAUDDIV (*(volatile uint32_t *)0x40004010u)
#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define CALIBRATION_LOOPS 200000u /* two instructions each: subs, bne */
#define BENCH_STEPS 2000u

static EdgeHarEngine engine;

static void put(const char *text) {
    for (; *text; text++) {
        while (UART_STATE & 1u) {
        }
        UART_DATA = (uint32_t)*text;
    }
}

static void put_number(const char *name, uint32_t value) {
    char digits[11], *at = digits + sizeof digits - 1;
    *at = 0;
    do {
        *--at = (char)('0' + value % 10);
        value /= 10;
    } while (value);
    put(name);
    put(at);
}

static uint32_t elapsed(uint32_t before) { return (before - SYST_CVR) & 0xFFFFFFu; }

static void read_sample(uint32_t index, EdgeHarValue *input) {
    float reading[3];
    for (int k = 0; k < 3; k++) reading[k] = kEhRecording[index][k] * kEhRecordingScale;
    edge_har_engine_quantize_reading(reading, input);
}

int main(void) {
    UART_BAUDDIV = 16;
    UART_CTRL = 1u;
    SYST_RVR = 0xFFFFFFu;
    SYST_CVR = 0;
    SYST_CSR = 5u; /* enabled, clocked by the CPU, no interrupt */
    uint32_t before = SYST_CVR;
    uint32_t loops = CALIBRATION_LOOPS;
    __asm__ volatile("1: subs %0, %0, #1\n bne 1b" : "+r"(loops) : : "cc");
    uint32_t calibration = elapsed(before);
    EdgeHarValue input[EDGE_HAR_ENGINE_CHANNELS], logits[EDGE_HAR_ENGINE_CLASSES];
    read_sample(0, input);
    edge_har_engine_reset(&engine, input);
    uint32_t steps = kEhRecordingSamples < BENCH_STEPS ? kEhRecordingSamples : BENCH_STEPS, ticks = 0;
    for (uint32_t i = 0; i < steps; i++) {
        read_sample(i, input);
        before = SYST_CVR;
        edge_har_engine_step(&engine, input, logits);
        ticks += elapsed(before);
    }
    put_number("calibration_instructions=", 2u * CALIBRATION_LOOPS);
    put_number(" calibration_ticks=", calibration);
    put_number(" steps=", steps);
    put_number(" step_ticks=", ticks);
    put("\n");
    for (;;) {
    }
}
