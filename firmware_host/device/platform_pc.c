/* The firmware on a PC: frames go to a file descriptor (the first argument, else stdout), for
 * example the master side of a pseudo-terminal that `edge-har stream` reads. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "device.h"

static int out_fd = STDOUT_FILENO;

void eh_platform_init(void) {}

void eh_platform_read(uint8_t *data, size_t length) { /* nobody writes to the PC build: it starts at once */
    (void)data;
    (void)length;
}

void eh_platform_write(const uint8_t *data, size_t length) {
    while (length > 0) {
        ssize_t written = write(out_fd, data, length);
        if (written <= 0) {
            exit(1);
        }
        data += written;
        length -= (size_t)written;
    }
}

int main(int argc, char **argv) {
    if (argc > 1) {
        out_fd = atoi(argv[1]);
    }
    fprintf(stderr, "sent %lu samples\n", (unsigned long)eh_device_run());
    return 0;
}
