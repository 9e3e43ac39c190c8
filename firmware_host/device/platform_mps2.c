/* The firmware on an Arm MPS2 board with a Cortex-M4 (AN386; QEMU's mps2-an386): the CMSDK UART0
 * that carries the frames (start-up: startup_mps2.c). Bare metal, no RTOS, no heap. */
#include <stdint.h>

#include "device.h"

#define UART0_BASE 0x40004000u
#define UART_DATA (*(volatile uint32_t *)(UART0_BASE + 0x000))
#define UART_STATE (*(volatile uint32_t *)(UART0_BASE + 0x004))
#define UART_CTRL (*(volatile uint32_t *)(UART0_BASE + 0x008))
#define UART_BAUDDIV (*(volatile uint32_t *)(UART0_BASE + 0x010))
#define UART_TX_FULL 0x1u
#define UART_RX_FULL 0x2u

void eh_platform_wait_start(void) {
    UART_BAUDDIV = 16;
    UART_CTRL = 0x3u;  /* transmit and receive enabled */
    while (!(UART_STATE & UART_RX_FULL)) {
    }
    (void)UART_DATA;  /* any byte from the host starts the replay: nobody listening, nothing lost */
}

void eh_platform_write(const uint8_t *data, size_t length) {
    for (size_t i = 0; i < length; i++) {
        while (UART_STATE & UART_TX_FULL) {
        }
        UART_DATA = data[i];
    }
}

int main(void) {
    for (;;) {
        eh_device_run();
    }
}
