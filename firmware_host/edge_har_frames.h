/* edge-har serial frames: the encoder a board runs (see PROTOCOL.md). Plain C99, no allocation. */
#ifndef EDGE_HAR_FRAMES_H
#define EDGE_HAR_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#define EH_SAMPLE_FRAME_BYTES 14 /* protocol version 1: a reading */
#define EH_DEVICE_FRAME_BYTES 15 /* protocol version 2: a reading and the class the device computed */
#define EH_NO_LABEL 0xFF
#define EH_RING_CAPACITY 64 /* samples; a power of two */

typedef struct {
    int16_t x, y, z;
    uint8_t label; /* EH_NO_LABEL when the sample has none */
} eh_sample;

/* Single-producer (sensor interrupt), single-consumer (main loop) ring buffer of samples. */
typedef struct {
    eh_sample items[EH_RING_CAPACITY];
    volatile uint32_t head; /* written by the producer */
    volatile uint32_t tail; /* written by the consumer */
    uint32_t overruns;      /* samples dropped because the consumer fell behind */
} eh_ring;

void eh_ring_init(eh_ring *ring);
int eh_ring_push(eh_ring *ring, eh_sample sample); /* 0 when full (the sample is counted as an overrun) */
int eh_ring_pop(eh_ring *ring, eh_sample *out);    /* 0 when empty */

uint16_t eh_crc16(const uint8_t *data, size_t length);

/* Pack one sample frame into out[EH_SAMPLE_FRAME_BYTES]. */
void eh_pack_sample(uint16_t seq, eh_sample sample, uint8_t out[EH_SAMPLE_FRAME_BYTES]);

/* Pack one sample frame with the device's own class into out[EH_DEVICE_FRAME_BYTES]. */
void eh_pack_device_sample(uint16_t seq, eh_sample sample, uint8_t device_class, uint8_t out[EH_DEVICE_FRAME_BYTES]);

/* Pack an info frame carrying `text` (key=value pairs); returns its size, or 0 if text is over 255 bytes. */
size_t eh_pack_info(const char *text, uint8_t *out, size_t capacity);

#endif
