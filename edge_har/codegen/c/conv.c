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

/* Output channel o from its sum of products; both paths work in blocks of output channels, and
 * cout need not fill the last block: its padding channels are not stored. */
EH_INLINE void block_output(const EdgeHarConv *p, int o, int64_t acc, EdgeHarValue *out) {
  if (o < p->cout)
    out[o] = saturate(requantized(p, o, acc + p->bias[o]) + p->output_zero_point, p->low, p->high);
}

#ifndef EDGE_HAR_ENGINE_DSP
/* The portable convolution: cores without the DSP extension (Cortex-M0/M0+, rv32imc), and the
 * reference the DSP path is tested against. A MAC is a weight's load, a multiply and an add, so
 * the loads around them are what there is to save. Export lays the weights out as the loop reads
 * them: blocks of eight output channels (cout rounded up with zero weights) and, per block, per
 * tap, per input channel, the block's eight weights side by side. Each activation, loaded once,
 * feeds eight accumulators, and the eight weights load with immediate offsets from one pointer.
 *
 * On ARMv6-M the weights are stored plus 128 (kernel_params.c): sum(w x) = sum((w + 128) x) -
 * 128 sum(x), whose last sum, over the call's activations, is one for every output channel.
 * The input offset of an int8 model is folded into the bias at export.
 * A 32-bit accumulator is used where export proved the channel's sum cannot overflow: it is summed
 * modulo 2^32, unsigned, so that the detour through w + 128 may wrap and the result is still
 * exact; otherwise 64 bits (`wide`), as TFLite-Micro's 16x8 kernel always accumulates. */
#define EH_PORTABLE_BLOCK 8

/* What the stored weights' offset added to each channel's sum: the offset times the sum of every
 * activation the call reads (none where the weights are stored as they are). */
EH_INLINE int64_t weight_offset_sum(const EdgeHarConv *p, const EdgeHarValue *const *taps) {
  int64_t sum = 0;
  if (EDGE_HAR_ENGINE_WEIGHT_OFFSET)
    for (int j = 0; j < p->kernel; ++j) {
      int32_t column = 0; /* exact: cin (an int16_t) values of at most 2^15 each */
      for (int i = 0; i < p->cin; ++i) column += taps[j][i];
      sum += column;
    }
  return EDGE_HAR_ENGINE_WEIGHT_OFFSET * sum;
}

/* One tap's products with a block's eight weights per input channel, into eight accumulators. */
#define EH_TAP_MACS(Value, acc, x, cin, w)                                                                 \
  do {                                                                                                     \
    _Pragma("GCC unroll 4") for (int i = 0; i < (cin); ++i) {                                              \
      Value v = (Value)(x)[i];                                                                             \
      acc[0] += (Value)w[0] * v, acc[1] += (Value)w[1] * v, acc[2] += (Value)w[2] * v, acc[3] += (Value)w[3] * v; \
      acc[4] += (Value)w[4] * v, acc[5] += (Value)w[5] * v, acc[6] += (Value)w[6] * v, acc[7] += (Value)w[7] * v; \
      w += EH_PORTABLE_BLOCK;                                                                              \
    }                                                                                                      \
  } while (0)

#ifdef EDGE_HAR_ENGINE_ARMV6M_TAP
#define EH_NARROW_TAP(acc, x, cin, w)                                \
  do {                                                               \
    if (((cin) & 3) == 0)                                            \
      w = armv6m_tap(x, cin, w, acc);                                \
    else                                                             \
      EH_TAP_MACS(uint32_t, acc, x, cin, w);                         \
  } while (0)
#else
#define EH_NARROW_TAP(acc, x, cin, w) EH_TAP_MACS(uint32_t, acc, x, cin, w)
#endif
#define EH_WIDE_TAP(acc, x, cin, w) EH_TAP_MACS(int32_t, acc, x, cin, w)

/* One block of eight output channels over every tap, in `Acc` (uint32_t modulo 2^32, or int64_t)
 * by `tap`, read back as `Sum`. */
#define EH_DEFINE_BLOCK(name, Acc, tap, Sum)                                                           \
  EH_INLINE const EdgeHarWeight *name(const EdgeHarConv *p, const EdgeHarValue *const *taps, int o,    \
                                      const EdgeHarWeight *w, int64_t offset_sum, EdgeHarValue *out) { \
    Acc acc[EH_PORTABLE_BLOCK] = {0};                                                                  \
    for (int j = 0; j < p->kernel; ++j) tap(acc, taps[j], p->cin, w);                                  \
    for (int k = 0; k < EH_PORTABLE_BLOCK; ++k) block_output(p, o + k, (Sum)(acc[k] - (Acc)offset_sum), out); \
    return w;                                                                                          \
  }

EH_DEFINE_BLOCK(block_narrow, uint32_t, EH_NARROW_TAP, int32_t)
EH_DEFINE_BLOCK(block_wide, int64_t, EH_WIDE_TAP, int64_t)

EH_INLINE void conv(const EdgeHarConv *p, const EdgeHarValue *ring, uint16_t head, const EdgeHarValue *column,
                    EdgeHarValue *out) {
  const EdgeHarValue *taps[EDGE_HAR_ENGINE_MAX_KERNEL];
  conv_taps(p, ring, head, column, taps);
  const int64_t offset_sum = weight_offset_sum(p, taps);
  const EdgeHarWeight *w = p->weights;
  for (int o = 0; o < p->cout; o += EH_PORTABLE_BLOCK)
    w = p->wide ? block_wide(p, taps, o, w, offset_sum, out) : block_narrow(p, taps, o, w, offset_sum, out);
}
#endif
