/* A counter that times the benchmark (bench.c), one per architecture. */
#ifndef EH_COUNTER_H
#define EH_COUNTER_H

#include <stdint.h>

void eh_counter_init(void);
uint32_t eh_counter_now(void);
uint32_t eh_counter_since(uint32_t before); /* ticks since `before`, a value of eh_counter_now */
void eh_counter_calibration_loop(uint32_t iterations); /* two instructions an iteration */

#endif
