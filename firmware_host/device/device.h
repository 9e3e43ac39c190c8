/* The example firmware: a recording replayed as the sensor driver would deliver it, the C step
 * engine (step_engine.c from `edge-har export --int8 --activations int8`) on every sample, and
 * each sample sent with the device's class (PROTOCOL.md, version 2). A platform supplies the
 * three functions below; device.c is the same on every platform. */
#ifndef EH_DEVICE_H
#define EH_DEVICE_H

#include <stddef.h>
#include <stdint.h>

void eh_platform_wait_start(void);                          /* until the host is listening */
void eh_platform_write(const uint8_t *data, size_t length); /* all of it, blocking */

/* Replays the recording once, from its first sample; returns the number of samples sent. */
uint32_t eh_device_run(void);

#endif
