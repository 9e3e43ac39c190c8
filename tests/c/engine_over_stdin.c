/* Test driver: the exported step engine over float32 x,y,z readings read from stdin, the first
 * through edge_har_engine_reset (the start-of-stream rule), each printed as one line of integer
 * logits. Built with the sanitizers by tests/test_c_engine.py, so that any reading, NaN and
 * infinities included, is shown to take no undefined path through the engine. */
#include <stdio.h>

#include "step_engine.h"

int main(void) {
  static EdgeHarEngine engine;
  float xyz[3];
  EdgeHarValue sample[EDGE_HAR_ENGINE_CHANNELS], logits[EDGE_HAR_ENGINE_CLASSES];
  int first = 1;
  while (fread(xyz, sizeof xyz, 1, stdin) == 1) {
    if (first) {
      edge_har_engine_start(&engine, xyz, sample);
    } else {
      edge_har_engine_read(&engine, xyz, sample);
    }
    first = 0;
    edge_har_engine_step(&engine, sample, logits);
    for (int k = 0; k < EDGE_HAR_ENGINE_CLASSES; ++k) printf(k ? " %d" : "%d", (int)logits[k]);
    printf("\n");
  }
  return 0;
}
