/* Start-up for QEMU's RISC-V virt builds: the stack and global pointers, .bss cleared, then main
 * (the loader put .data in place: everything lives in RAM). */
#include <stdint.h>
#include <string.h>

extern uint32_t _sbss, _ebss;
int main(void);

__attribute__((noreturn)) void eh_start_c(void) {
    memset(&_sbss, 0, (size_t)((char *)&_ebss - (char *)&_sbss));
    main();
    for (;;) {
    }
}

__attribute__((naked, section(".text.start"))) void _start(void) {
    __asm__ volatile(
        ".option push\n .option norelax\n la gp, __global_pointer$\n .option pop\n"
        "la sp, _stack_top\n j eh_start_c");
}
