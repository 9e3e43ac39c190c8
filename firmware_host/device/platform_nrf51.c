/* The firmware on a BBC micro:bit (QEMU's microbit, an nRF51822 with a Cortex-M0): its UART
 * carries the frames (start-up: startup_mps2.c, which any Cortex-M runs). Bare metal, no heap. */
#include <stdint.h>

#include "device.h"

#define UART_REGISTER(offset) (*(volatile uint32_t *)(0x40002000u + (offset)))
#define UART_STARTRX UART_REGISTER(0x000)
#define UART_STARTTX UART_REGISTER(0x008)
#define UART_RXDRDY UART_REGISTER(0x108)
#define UART_TXDRDY UART_REGISTER(0x11C)
#define UART_ENABLE UART_REGISTER(0x500)
#define UART_RXD UART_REGISTER(0x518)
#define UART_TXD UART_REGISTER(0x51C)

void eh_platform_init(void) {
    UART_ENABLE = 4u;
    UART_STARTRX = 1u;
    UART_STARTTX = 1u;
}

void eh_platform_read(uint8_t *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        while (!UART_RXDRDY) {
        }
        UART_RXDRDY = 0u; /* the event first, then the byte (the nRF51's order) */
        data[i] = (uint8_t)UART_RXD;
    }
}

void eh_platform_write(const uint8_t *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        UART_TXDRDY = 0u;
        UART_TXD = data[i];
        while (!UART_TXDRDY) {
        }
    }
}
