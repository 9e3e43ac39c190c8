unsigned edge_har_engine_bytes(void) { return (unsigned)sizeof(EdgeHarEngine); }

void edge_har_engine_clear(EdgeHarEngine *engine) { memset(engine, 0, sizeof *engine); }

void edge_har_engine_reset(EdgeHarEngine *engine, const EdgeHarValue *first) {
  EdgeHarValue logits[EDGE_HAR_ENGINE_CLASSES];
  edge_har_engine_clear(engine);
  for (int t = 0; t < EDGE_HAR_ENGINE_RECEPTIVE_FIELD - 1; ++t) edge_har_engine_step(engine, first, logits);
#ifdef EDGE_HAR_ENGINE_DECODED
  edge_har_decoder_q_reset(&engine->decoder); /* the decoder starts with the stream's first real sample */
#endif
}

#ifdef EDGE_HAR_ENGINE_DECODED
int edge_har_engine_decoded_class(const EdgeHarEngine *engine) { return engine->decoded_class; }

static void decode(EdgeHarEngine *engine, const EdgeHarValue *logits) {
  int32_t wide[EDGE_HAR_ENGINE_CLASSES];
  for (int k = 0; k < EDGE_HAR_ENGINE_CLASSES; ++k) wide[k] = logits[k];
  engine->decoded_class = edge_har_decoder_q_step(&engine->decoder, wide, EDGE_HAR_DECODE_STEP_LOGIT_Q);
}
#endif

static int best_class(const EdgeHarValue *logits) {
  int best = 0;
  for (int k = 1; k < EDGE_HAR_ENGINE_CLASSES; ++k)
    if (logits[k] > logits[best]) best = k;
  return best;
}

/* Round half to even (the default rounding mode), as every edge-har backend quantizes. */
static EdgeHarValue quantize(double value) {
  double q = nearbyint(value * EDGE_HAR_ENGINE_INPUT_INVERSE_SCALE + EDGE_HAR_ENGINE_INPUT_ZERO_POINT);
  return (EdgeHarValue)(q < EDGE_HAR_ENGINE_VALUE_MIN ? EDGE_HAR_ENGINE_VALUE_MIN
                        : q > EDGE_HAR_ENGINE_VALUE_MAX ? EDGE_HAR_ENGINE_VALUE_MAX : q);
}

/* The reading rule (step_engine.h): NaN reads as 0; an infinity saturates in quantize, as any
 * value beyond the input's range does. Converting NaN to an integer is undefined in C. */
static double defined(float value) { return value == value ? (double)value : 0.0; }

void edge_har_engine_quantize_reading(const float *readings, EdgeHarValue *sample) {
  double squares = 0.0;
  for (int k = 0; k < EDGE_HAR_ENGINE_READINGS; ++k) {
    double value = defined(readings[k]);
    sample[k] = quantize(value);
    squares += value * value;
  }
  if (EDGE_HAR_ENGINE_CHANNELS > EDGE_HAR_ENGINE_READINGS)
    sample[EDGE_HAR_ENGINE_CHANNELS - 1] = quantize(sqrt(squares + EDGE_HAR_ENGINE_MAGNITUDE_EPS));
}

/* The model's readings of one sensor reading: the axes, then (a model with a memory) their causal
 * exponential average, in double as every edge-har backend computes it (features.Memory: the keep
 * product, then the gain product added; a reading that is not finite reads as 0 there, so that
 * none spoils it for good), rounded to float. */
#ifdef EDGE_HAR_ENGINE_MEMORY
static double remembered(float value) { return isfinite(value) ? (double)value : 0.0; }
#endif

static void readings_of(EdgeHarEngine *engine, const float *xyz, float *readings) {
  for (int k = 0; k < EDGE_HAR_ENGINE_AXES; ++k) readings[k] = xyz[k];
#ifdef EDGE_HAR_ENGINE_MEMORY
  for (int k = 0; k < EDGE_HAR_ENGINE_AXES; ++k) {
    double kept = EDGE_HAR_ENGINE_MEMORY_KEEP * engine->memory[k];
    engine->memory[k] = kept + EDGE_HAR_ENGINE_MEMORY_GAIN * remembered(xyz[k]);
    readings[EDGE_HAR_ENGINE_AXES + k] = (float)engine->memory[k];
  }
#else
  (void)engine;
#endif
}

void edge_har_engine_read(EdgeHarEngine *engine, const float *xyz, EdgeHarValue *sample) {
  float readings[EDGE_HAR_ENGINE_READINGS];
  readings_of(engine, xyz, readings);
  edge_har_engine_quantize_reading(readings, sample);
}

void edge_har_engine_start(EdgeHarEngine *engine, const float *xyz, EdgeHarValue *sample) {
#ifdef EDGE_HAR_ENGINE_MEMORY
  double memory[EDGE_HAR_ENGINE_AXES]; /* before the stream, the memory holds its first reading */
  for (int k = 0; k < EDGE_HAR_ENGINE_AXES; ++k) engine->memory[k] = remembered(xyz[k]);
  edge_har_engine_read(engine, xyz, sample);
  for (int k = 0; k < EDGE_HAR_ENGINE_AXES; ++k) memory[k] = engine->memory[k];
  edge_har_engine_reset(engine, sample); /* which clears the whole engine */
  for (int k = 0; k < EDGE_HAR_ENGINE_AXES; ++k) engine->memory[k] = memory[k];
#else
  edge_har_engine_read(engine, xyz, sample);
  edge_har_engine_reset(engine, sample);
#endif
}
