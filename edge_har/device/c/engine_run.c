/* Host-side helper beside an exported step engine (not part of what firmware takes): a whole
 * recording in one call, as firmware would stream it, so that a check over hundreds of thousands
 * of steps does not cross from Python into C three times a step. */
#include "step_engine.h"

void edge_har_host_run(EdgeHarEngine *engine, const float *xyz, long count, EdgeHarValue *logits) {
  EdgeHarValue sample[EDGE_HAR_ENGINE_CHANNELS];
  for (long t = 0; t < count; ++t) {
    const float *axes = xyz + EDGE_HAR_ENGINE_AXES * t;
    if (t == 0) {
      edge_har_engine_start(engine, axes, sample); /* the start-of-stream rule (and the memory's start) */
    } else {
      edge_har_engine_read(engine, axes, sample);
    }
    edge_har_engine_step(engine, sample, logits + t * EDGE_HAR_ENGINE_CLASSES);
  }
}
