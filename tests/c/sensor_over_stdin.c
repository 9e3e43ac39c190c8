/* Test driver: the generated sensor input (sensor_input.c) over int16 x,y,z counts read from stdin,
 * the first through edge_har_sensor_reset. Prints the reset's input, then one line per model input:
 * the index of the reading that completed it and the input's values. */
#include <stdio.h>

#include "sensor_input.h"

static void print_input(long reading, const EdgeHarValue *input) {
  printf("%ld", reading);
  for (int k = 0; k < EDGE_HAR_ENGINE_CHANNELS; ++k) printf(" %d", (int)input[k]);
  printf("\n");
}

int main(void) {
  static EdgeHarSensor sensor;
  int16_t counts[3];
  EdgeHarValue inputs[EDGE_HAR_SENSOR_MAX_STEPS][EDGE_HAR_ENGINE_CHANNELS];
  for (long reading = 0; fread(counts, sizeof counts, 1, stdin) == 1; ++reading) {
    if (reading == 0) {
      edge_har_sensor_reset(&sensor, counts, inputs[0]);
      print_input(-1, inputs[0]);
    }
    int steps = edge_har_sensor_push(&sensor, counts, inputs);
    for (int k = 0; k < steps; ++k) print_input(reading, inputs[k]);
  }
  return 0;
}
