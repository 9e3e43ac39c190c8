/* The firmware on QEMU's RISC-V virt machine: its NS16550A UART at 0x10000000 carries the frames
 * (start-up: startup_virt.c). Bare metal, machine mode, no heap. */
#include <stdint.h>

#include "device.h"

#define UART ((volatile uint8_t *)0x10000000u)
#define UART_DATA UART[0]
#define UART_LSR UART[5]
#define LSR_DATA_READY 0x01u
#define LSR_TX_EMPTY 0x20u

void eh_platform_init(void) {}

void eh_platform_read(uint8_t *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        while (!(UART_LSR & LSR_DATA_READY)) {
        }
        data[i] = UART_DATA;
    }
}

void eh_platform_write(const uint8_t *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        while (!(UART_LSR & LSR_TX_EMPTY)) {
        }
        UART_DATA = data[i];
    }
}
