/* The firmware's main loop, the same on the PC and on the Cortex-M4. */
#include "device.h"

#include "edge_har_frames.h"
#include "recording.h" /* kEhRecording, kEhRecordingLabels, kEhRecordingSamples, kEhInfo (, kEhRecordingScale) */
#include "step_engine.h"
#ifdef EH_SENSOR_INPUT
#include "sensor_input.h" /* the board's counts at its rate to the model's input (firmware --board-rate) */
#endif

static EdgeHarEngine engine;
static eh_ring samples; /* filled by the sensor driver, drained by the main loop */

/* The sensor driver: one reading per call, as an interrupt would deliver it (here, from flash). */
static void sensor_interrupt(uint32_t index) {
    eh_sample sample = {kEhRecording[index][0], kEhRecording[index][1], kEhRecording[index][2],
                        kEhRecordingLabels[index]};
    eh_ring_push(&samples, sample);
}

#ifdef EH_SENSOR_INPUT
static EdgeHarSensor sensor;

/* The class of the newest model step this reading completes; EH_NO_LABEL where it completes none
 * (PROTOCOL.md: the host compares it with its own newest step of the same reading). */
static uint8_t classify(const eh_sample *sample, int first) {
    const int16_t counts[3] = {sample->x, sample->y, sample->z};
    EdgeHarValue inputs[EDGE_HAR_SENSOR_MAX_STEPS][EDGE_HAR_ENGINE_CHANNELS], logits[EDGE_HAR_ENGINE_CLASSES];
    if (first) {
        edge_har_sensor_reset(&sensor, counts, inputs[0]);
        edge_har_engine_reset(&engine, inputs[0]); /* the start-of-stream rule */
    }
    uint8_t device_class = EH_NO_LABEL;
    int steps = edge_har_sensor_push(&sensor, counts, inputs);
    for (int k = 0; k < steps; ++k) device_class = (uint8_t)edge_har_engine_step(&engine, inputs[k], logits);
    return device_class;
}
#else
static uint8_t classify(const eh_sample *sample, int first) {
    float reading[3] = {sample->x * kEhRecordingScale, sample->y * kEhRecordingScale, sample->z * kEhRecordingScale};
    EdgeHarValue input[EDGE_HAR_ENGINE_CHANNELS], logits[EDGE_HAR_ENGINE_CLASSES];
    if (first) {
        edge_har_engine_start(&engine, reading, input); /* the start-of-stream rule */
    } else {
        edge_har_engine_read(&engine, reading, input);
    }
    return (uint8_t)edge_har_engine_step(&engine, input, logits);
}
#endif

uint32_t eh_device_run(void) {
    uint8_t info[260], frame[EH_DEVICE_FRAME_BYTES];
    uint8_t start;
    eh_ring_init(&samples);
    eh_platform_read(&start, 1);
    eh_platform_write(info, eh_pack_info(kEhInfo, info, sizeof info));
    uint32_t sent = 0;
    for (uint32_t i = 0; i < kEhRecordingSamples; i++) {
        sensor_interrupt(i);
        eh_sample sample;
        while (eh_ring_pop(&samples, &sample)) {
            uint8_t device_class = classify(&sample, sent == 0);
            eh_pack_device_sample((uint16_t)sent, sample, device_class, frame);
            eh_platform_write(frame, sizeof frame);
            sent++;
        }
    }
    return sent;
}
