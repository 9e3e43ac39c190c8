/* The example firmware: a recording replayed as the sensor driver would deliver it, the C step
 * engine (step_engine.c from `edge-har export --int8`) on every sample, and each sample sent with
 * the device's class (PROTOCOL.md, version 2). A platform supplies the functions below; device.c,
 * replay.c and logits.c are the same on every platform. */
#ifndef EH_DEVICE_H
#define EH_DEVICE_H

#include <stddef.h>
#include <stdint.h>

void eh_platform_init(void);                                /* the serial line, ready */
void eh_platform_read(uint8_t *data, size_t length);        /* all of it, blocking */
void eh_platform_write(const uint8_t *data, size_t length); /* all of it, blocking */

/* Replays the recording once, from its first sample, after any byte from the host (nobody
 * listening, nothing lost); returns the number of samples sent. */
uint32_t eh_device_run(void);

#endif
