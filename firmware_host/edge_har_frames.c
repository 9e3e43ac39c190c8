#include "edge_har_frames.h"

#include <string.h>

void eh_ring_init(eh_ring *ring) {
    ring->head = ring->tail = 0;
    ring->overruns = 0;
}

int eh_ring_push(eh_ring *ring, eh_sample sample) {
    if (ring->head - ring->tail == EH_RING_CAPACITY) {
        ring->overruns++;
        return 0;
    }
    ring->items[ring->head % EH_RING_CAPACITY] = sample;
    ring->head++;
    return 1;
}

int eh_ring_pop(eh_ring *ring, eh_sample *out) {
    if (ring->head == ring->tail) {
        return 0;
    }
    *out = ring->items[ring->tail % EH_RING_CAPACITY];
    ring->tail++;
    return 1;
}

uint16_t eh_crc16(const uint8_t *data, size_t length) {
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < length; i++) {
        crc ^= (uint16_t)(data[i] << 8);
        for (int bit = 0; bit < 8; bit++) {
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021) : (uint16_t)(crc << 1);
        }
    }
    return crc;
}

static void put_u16(uint8_t *out, uint16_t value) {
    out[0] = (uint8_t)(value & 0xFF);
    out[1] = (uint8_t)(value >> 8);
}

/* Sync, flags, counter, axes and label: bytes 0 to 11 of both sample frames. */
static void pack_reading(uint8_t version, uint16_t seq, eh_sample sample, uint8_t *out) {
    out[0] = 0xAA;
    out[1] = 0x55;
    out[2] = (uint8_t)(version | (sample.label != EH_NO_LABEL ? 0x10 : 0));
    put_u16(out + 3, seq);
    put_u16(out + 5, (uint16_t)sample.x);
    put_u16(out + 7, (uint16_t)sample.y);
    put_u16(out + 9, (uint16_t)sample.z);
    out[11] = sample.label;
}

void eh_pack_sample(uint16_t seq, eh_sample sample, uint8_t out[EH_SAMPLE_FRAME_BYTES]) {
    pack_reading(1, seq, sample, out);
    put_u16(out + 12, eh_crc16(out + 2, 10));
}

void eh_pack_device_sample(uint16_t seq, eh_sample sample, uint8_t device_class, uint8_t out[EH_DEVICE_FRAME_BYTES]) {
    pack_reading(2, seq, sample, out);
    out[12] = device_class;
    put_u16(out + 13, eh_crc16(out + 2, 11));
}

size_t eh_pack_info(const char *text, uint8_t *out, size_t capacity) {
    size_t length = strlen(text);
    if (length > 255 || capacity < length + 5) {
        return 0;
    }
    out[0] = 0xAA;
    out[1] = 0x56;
    out[2] = (uint8_t)length;
    memcpy(out + 3, text, length);
    put_u16(out + 3 + length, eh_crc16(out + 2, length + 1));
    return length + 5;
}
