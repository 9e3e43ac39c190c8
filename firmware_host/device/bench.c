/* Instructions per step of the C step engine on a core, under QEMU with -icount shift=0 (one
 * instruction per nanosecond of virtual time). A counter of the platform (the SysTick on Arm,
 * instret on RISC-V; counter.h) times the steps; a calibration loop of known length, two
 * instructions an iteration, gives the instructions per tick in the same run. The engine then
 * steps through the recording in flash, and one line goes out on the serial line:
 * "calibration_instructions=I calibration_ticks=T steps=N step_ticks=S quantize_ticks=Q". */
#include <stdint.h>

#include "counter.h"
#include "device.h"
#include "recording.h"
#include "step_engine.h"

#define CALIBRATION_LOOPS 200000u
#define BENCH_STEPS 2000u

static EdgeHarEngine engine;

static void put(const char *text) {
    const char *end = text;
    while (*end) end++;
    eh_platform_write((const uint8_t *)text, (size_t)(end - text));
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

static void reading_at(uint32_t index, float *reading) {
    for (int k = 0; k < 3; k++) reading[k] = kEhRecording[index][k] * kEhRecordingScale;
}

int main(void) {
    eh_platform_init();
    eh_counter_init();
    uint32_t before = eh_counter_now();
    eh_counter_calibration_loop(CALIBRATION_LOOPS);
    uint32_t calibration = eh_counter_since(before);
    float reading[3];
    EdgeHarValue input[EDGE_HAR_ENGINE_CHANNELS], logits[EDGE_HAR_ENGINE_CLASSES];
    reading_at(0, reading);
    edge_har_engine_start(&engine, reading, input);
    uint32_t steps = kEhRecordingSamples < BENCH_STEPS ? kEhRecordingSamples : BENCH_STEPS, ticks = 0, quantize = 0;
    for (uint32_t i = 0; i < steps; i++) {
        reading_at(i, reading);
        before = eh_counter_now();
        edge_har_engine_read(&engine, reading, input); /* the reading's quantization (and memory) */
        quantize += eh_counter_since(before);
        before = eh_counter_now();
        edge_har_engine_step(&engine, input, logits);
        ticks += eh_counter_since(before);
    }
    put_number("calibration_instructions=", 2u * CALIBRATION_LOOPS);
    put_number(" calibration_ticks=", calibration);
    put_number(" steps=", steps);
    put_number(" step_ticks=", ticks);
    put_number(" quantize_ticks=", quantize);
    put("\n");
    for (;;) {
    }
}
