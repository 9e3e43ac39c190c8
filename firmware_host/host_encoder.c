/* The board's send loop, on a PC: reads "x y z [label]" lines (board units) from stdin, pushes
 * them through the ring buffer as a sensor interrupt would, and writes frames to a file
 * descriptor (stdout by default, or the one given as the first argument). An optional second
 * argument is sent first as an info frame, e.g. "rate_hz=50 scale=0.001". */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "edge_har_frames.h"

static int write_all(int fd, const uint8_t *data, size_t length) {
    while (length > 0) {
        ssize_t written = write(fd, data, length);
        if (written <= 0) {
            return 0;
        }
        data += written;
        length -= (size_t)written;
    }
    return 1;
}

static int drain(eh_ring *ring, int fd, uint16_t *seq) {
    eh_sample sample;
    uint8_t frame[EH_SAMPLE_FRAME_BYTES];
    while (eh_ring_pop(ring, &sample)) {
        eh_pack_sample((*seq)++, sample, frame);
        if (!write_all(fd, frame, sizeof frame)) {
            return 0;
        }
    }
    return 1;
}

int main(int argc, char **argv) {
    int fd = argc > 1 ? atoi(argv[1]) : STDOUT_FILENO;
    if (argc > 2) {
        uint8_t info[260];
        size_t size = eh_pack_info(argv[2], info, sizeof info);
        if (size == 0 || !write_all(fd, info, size)) {
            fprintf(stderr, "cannot send the info frame\n");
            return 1;
        }
    }
    eh_ring ring;
    eh_ring_init(&ring);
    uint16_t seq = 0;
    int x, y, z, label;
    char line[128];
    while (fgets(line, sizeof line, stdin)) {
        int fields = sscanf(line, "%d %d %d %d", &x, &y, &z, &label);
        if (fields < 3) {
            continue;
        }
        eh_sample sample = {(int16_t)x, (int16_t)y, (int16_t)z, fields == 4 ? (uint8_t)label : EH_NO_LABEL};
        eh_ring_push(&ring, sample);
        if (ring.head - ring.tail >= EH_RING_CAPACITY / 2 && !drain(&ring, fd, &seq)) {
            return 1;
        }
    }
    return drain(&ring, fd, &seq) ? 0 : 1;
}
