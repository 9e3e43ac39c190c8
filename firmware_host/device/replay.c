/* The example firmware's entry on a microcontroller: the recording replayed once per byte the
 * host sends. */
#include "device.h"

int main(void) {
    eh_platform_init();
    for (;;) {
        eh_device_run();
    }
}
