/* The float forward filter (decoder.h), as decoding.py runs it, in float32. */
typedef struct { float belief[EDGE_HAR_DECODE_CLASSES]; } EdgeHarDecoderF;

static inline void edge_har_decoder_f_reset(EdgeHarDecoderF *d) {
  for (int k = 0; k < EDGE_HAR_DECODE_CLASSES; ++k) d->belief[k] = kEdgeHarDecodePrior[k];
}

/* logits: the model's dequantized logits. Returns the decoded class. */
static inline int edge_har_decoder_f_step(EdgeHarDecoderF *d, const float *logits) {
  float top = logits[0], sum = 0.0f, next[EDGE_HAR_DECODE_CLASSES], total = 0.0f;
  for (int k = 1; k < EDGE_HAR_DECODE_CLASSES; ++k) top = logits[k] > top ? logits[k] : top;
  for (int k = 0; k < EDGE_HAR_DECODE_CLASSES; ++k) sum += expf(logits[k] - top);
  for (int j = 0; j < EDGE_HAR_DECODE_CLASSES; ++j) {
    float p = expf(logits[j] - top) / sum, predicted = 0.0f;
    if (p < EDGE_HAR_DECODE_FLOOR) p = EDGE_HAR_DECODE_FLOOR;
    for (int i = 0; i < EDGE_HAR_DECODE_CLASSES; ++i) predicted += d->belief[i] * kEdgeHarDecodeTransition[i][j];
    next[j] = predicted * p / kEdgeHarDecodePrior[j];
    total += next[j];
  }
  int best = 0;
  for (int k = 0; k < EDGE_HAR_DECODE_CLASSES; ++k) {
    float b = next[k] / total;
    d->belief[k] = b < EDGE_HAR_DECODE_FLOOR ? EDGE_HAR_DECODE_FLOOR : b;
    if (d->belief[k] > d->belief[best]) best = k;
  }
  return best;
}
