/* The integer forward filter (decoder.h): log domain, Q16, int32 only. */
typedef struct { int32_t log_belief[EDGE_HAR_DECODE_CLASSES]; } EdgeHarDecoderQ;

static inline void edge_har_decoder_q_reset(EdgeHarDecoderQ *d) {
  for (int k = 0; k < EDGE_HAR_DECODE_CLASSES; ++k) d->log_belief[k] = kEdgeHarDecodeLogPrior[k];
}

/* log(e^a + e^b), Q16; rounding d to the table's nearest step */
static inline int32_t edge_har_decoder_log_add(int32_t a, int32_t b) {
  int32_t top = a > b ? a : b, d = a > b ? a - b : b - a;
  int32_t step = (d + (1 << (EDGE_HAR_DECODE_LOG_ADD_SHIFT - 1))) >> EDGE_HAR_DECODE_LOG_ADD_SHIFT;
  return step < EDGE_HAR_DECODE_LOG_ADD_STEPS ? top + kEdgeHarDecodeLogAdd[step] : top;
}

/* logits: the model's integer logits (int8_t or int16_t, widened); logit_q: its
 * EDGE_HAR_DECODE_*_LOGIT_Q. Returns the decoded class. */
static inline int edge_har_decoder_q_step(EdgeHarDecoderQ *d, const int32_t *logits, int32_t logit_q) {
  int32_t top = logits[0], next[EDGE_HAR_DECODE_CLASSES], most;
  for (int k = 1; k < EDGE_HAR_DECODE_CLASSES; ++k) top = logits[k] > top ? logits[k] : top;
  for (int j = 0; j < EDGE_HAR_DECODE_CLASSES; ++j) {
    int32_t evidence = (int32_t)(((int64_t)(logits[j] - top) * logit_q) >> EDGE_HAR_DECODE_LOGIT_SHIFT);
    int32_t path = d->log_belief[0] + kEdgeHarDecodeLogTransition[0][j];
    if (evidence < -EDGE_HAR_DECODE_FLOOR_Q) evidence = -EDGE_HAR_DECODE_FLOOR_Q;
    for (int i = 1; i < EDGE_HAR_DECODE_CLASSES; ++i)
      path = edge_har_decoder_log_add(path, d->log_belief[i] + kEdgeHarDecodeLogTransition[i][j]);
    next[j] = path + evidence - kEdgeHarDecodeLogPrior[j];
  }
  int best = 0;
  most = next[0];
  for (int k = 1; k < EDGE_HAR_DECODE_CLASSES; ++k) if (next[k] > most) { most = next[k]; best = k; }
  for (int k = 0; k < EDGE_HAR_DECODE_CLASSES; ++k) {
    int32_t b = next[k] - most;
    d->log_belief[k] = b < -EDGE_HAR_DECODE_FLOOR_Q ? -EDGE_HAR_DECODE_FLOOR_Q : b;
  }
  return best;
}
