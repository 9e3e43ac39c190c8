/* The taps of a dilated convolution: tap j is the column j * dilation after the ring's head
 * (oldest first), the last tap the new column. The ring is addressed by a running index and one
 * conditional subtraction (head + j * dilation < 2 * width), never by a division. */
static void conv_taps(const EdgeHarConv *p, const EdgeHarValue *ring, uint16_t head, const EdgeHarValue *column,
                      const EdgeHarValue **taps) {
  int at = head;
  for (int j = 0; j < p->kernel - 1; ++j) {
    taps[j] = ring + at * p->cin;
    at += p->dilation;
    if (at >= p->width) at -= p->width;
  }
  taps[p->kernel - 1] = column;
}

/* Output channel o's accumulator plus bias, requantized. */
static inline int32_t requantized(const EdgeHarConv *p, int o, int64_t total) {
#if EDGE_HAR_ENGINE_BITS == 16
  if (p->high_word) return requantize_high((int32_t)total, p->multiplier[o]);
#endif
  return requantize((Accumulator)total, p->multiplier[o], p->shift[o]);
}

#ifndef EDGE_HAR_ENGINE_DSP
/* One output channel's sum over every tap, one multiply-accumulate at a time, as TFLite-Micro's
 * reference kernel; in 32 bits where export proved they cannot overflow. */
#define EH_CHANNEL_SUM(Acc)                                                                       \
  do {                                                                                          \
    Acc acc = 0;                                                                                \
    for (int j = 0; j < p->kernel; ++j) {                                                       \
      const EdgeHarValue *tap = taps[j];                                                        \
      for (int i = 0; i < p->cin; ++i) acc += (int32_t)weight[i] * ((int32_t)tap[i] + p->input_offset); \
      weight += p->cin;                                                                         \
    }                                                                                           \
    total = acc;                                                                                \
  } while (0)

/* The portable convolution (every core; the reference the DSP path is tested against). */
EH_INLINE void conv(const EdgeHarConv *p, const EdgeHarValue *ring, uint16_t head, const EdgeHarValue *column,
                    EdgeHarValue *out) {
  const EdgeHarValue *taps[EDGE_HAR_ENGINE_MAX_KERNEL];
  conv_taps(p, ring, head, column, taps);
  const int8_t *weight = p->weights;
  for (int o = 0; o < p->cout; ++o) {
    int64_t total;
    if (p->wide)
      EH_CHANNEL_SUM(int64_t);
    else
      EH_CHANNEL_SUM(int32_t);
    out[o] = saturate(requantized(p, o, total + p->bias[o]) + p->output_zero_point, p->low, p->high);
  }
}
#endif
