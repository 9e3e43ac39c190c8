/* The logits firmware: readings in over the serial line, the engine's integer logits out, one step
 * per reading. It shows that the engine on a core computes what TFLite-Micro computes, step by
 * step (edge_har/device/cores.py). A reading is three float32 in the model's units, 12 bytes; the
 * reply is the step's EDGE_HAR_ENGINE_CLASSES logits of EDGE_HAR_ENGINE_BITS / 8 bytes each. Both
 * little-endian, as every core here is. The first reading resets the engine (the start-of-stream
 * rule). */
#include "device.h"
#include "step_engine.h"

static EdgeHarEngine engine;

int main(void) {
    eh_platform_init();
    for (int first = 1;; first = 0) {
        float xyz[3];
        EdgeHarValue sample[EDGE_HAR_ENGINE_CHANNELS], logits[EDGE_HAR_ENGINE_CLASSES];
        eh_platform_read((uint8_t *)xyz, sizeof xyz);
        if (first) {
            edge_har_engine_start(&engine, xyz, sample); /* the start-of-stream rule */
        } else {
            edge_har_engine_read(&engine, xyz, sample);
        }
        edge_har_engine_step(&engine, sample, logits);
        eh_platform_write((const uint8_t *)logits, sizeof logits);
    }
}
