/* The firmware on Arm MPS2 boards (QEMU's mps2-an386 with a Cortex-M4, mps2-an505 with a
 * Cortex-M33): the CMSDK UART0 carries the frames (start-up: startup_mps2.c). Bare metal, no RTOS,
 * no heap. UART0_BASE comes from the build (the boards place the UART differently). */
#include <stdint.h>

#include "device.h"

#ifndef UART0_BASE
#define UART0_BASE 0x40004000u /* AN386 */
#endif
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x000))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x004))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x008))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x010))
#define UART_TX_FULL 0x1u
#define UART_RX_FULL 0x2u

void eh_platform_init(void) {
    UART_BAUDDIV = 16;
    UART_CTRL = 0x3u; /* transmit and receive enabled */
}

void eh_platform_read(uint8_t *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        while (!(UART_STATE & UART_RX_FULL)) {
        }
        data[i] = (uint8_t)UART_DATA;
    }
}

void eh_platform_write(const uint8_t *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        while (UART_STATE & UART_TX_FULL) {
        }
        UART_DATA = data[i];
    }
}
