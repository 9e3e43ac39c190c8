#ifdef EDGE_HAR_ENGINE_DSP
/* The convolution on cores with the DSP extension (Cortex-M4, M7, M33): SMLAD multiplies two
 * pairs of 16-bit values and adds both products in one instruction (SMLALD: into 64 bits).
 *
 * Each weight is used once per step, so the weights' loads bound the speed: export lays them out
 * as the loop reads them, as 16-bit pairs, for blocks of four output channels (cout rounded up
 * with zero weights). Per block, per tap, per pair of input channels, four words, one per output
 * channel: (w[o][j][i], w[o][j][i + 1]) in the low and high halves. int16 activations are read two
 * at a time as one word; an odd last channel is paired with zero. int8 activations are read four
 * at a time: SXTB16 widens bytes 0 and 2 into one pair and, rotated by 8, bytes 1 and 3 into
 * another, so a group of four channels is laid out as the pairs (i, i + 2) then (i + 1, i + 3).
 * The input offset of an int8 model is folded into the bias at export (the sum of a channel's
 * weights times the offset), so a MAC is the product alone.
 *
 * A 32-bit accumulator is used where export proved it cannot overflow (the sum of a channel's
 * absolute weights times the largest activation, plus its bias, below 2^31); otherwise 64 bits
 * (`wide`), as TFLite-Micro's 16x8 kernel always accumulates. */

/* Two weight words in one instruction: LDRD with post-increment, which no ACLE intrinsic gives.
 * The weights are constant data that nothing writes, so the load declares no memory operand. */
#define EH_WEIGHT_PAIR(first, second, at) __asm__("ldrd %0, %1, [%2], #8" : "=r"(first), "=r"(second), "+r"(at))

/* The next pair of 16-bit values into each of the four accumulators, one word of weights each. */
#define EH_FOUR_MACS(pair, mac)                                     \
  do {                                                              \
    int32_t w0, w1, w2, w3;                                         \
    EH_WEIGHT_PAIR(w0, w1, w);                                      \
    EH_WEIGHT_PAIR(w2, w3, w);                                      \
    a0 = mac(w0, pair, a0);                                         \
    a1 = mac(w1, pair, a1);                                         \
    a2 = mac(w2, pair, a2);                                         \
    a3 = mac(w3, pair, a3);                                         \
  } while (0)

/* Bytes 1 and 3 of a word, sign-extended into two 16-bit halves: SXTB16 with its rotation operand,
 * one instruction, which ACLE's __sxtb16 does not take (the compiler then spends a ROR on it). */
static inline int32_t odd_bytes(int32_t word) {
  int32_t pair;
  __asm__("sxtb16 %0, %1, ror #8" : "=r"(pair) : "r"(word));
  return pair;
}

/* The loop over a tap's channels, unrolled: its count is a constant of the call (EH_INLINE), so
 * no counter or branch is left between the loads and multiplies. int8 activations take four groups
 * an iteration: unrolled further, the compiler widens every group first and spills them. */
#if EDGE_HAR_ENGINE_BITS == 16
#define EH_UNROLLED _Pragma("GCC unroll 16")
#else
#define EH_UNROLLED _Pragma("GCC unroll 4")
#endif

static int32_t word_at(const EdgeHarValue *x) {
  int32_t word;
  memcpy(&word, x, sizeof word); /* one LDR: these cores load unaligned words */
  return word;
}

/* A block's four output channels from their accumulators (block_output, conv.c). */
#define EH_BLOCK_OUTPUTS(p, o, out)  \
  do {                               \
    block_output(p, o, a0, out);     \
    block_output(p, o + 1, a1, out); \
    block_output(p, o + 2, a2, out); \
    block_output(p, o + 3, a3, out); \
  } while (0)

#if EDGE_HAR_ENGINE_BITS == 16
/* One block of four output channels over every tap; `Acc` 32 or 64 bits with its dual MAC. */
#define EH_DEFINE_BLOCK(name, Acc, mac)                                                                   \
  EH_INLINE const int32_t *name(const EdgeHarConv *p, const EdgeHarValue *const *taps, int o,               \
                                const int32_t *w, EdgeHarValue *out) {                                    \
    const int kernel = p->kernel, cin = p->cin;                                                           \
    Acc a0 = 0, a1 = 0, a2 = 0, a3 = 0;                                                                   \
    for (int j = 0; j < kernel; ++j) {                                                                    \
      const EdgeHarValue *x = taps[j], *quads_end = x + (cin & ~3);                                       \
      EH_UNROLLED                                                                                         \
      for (; x < quads_end; x += 4) {                                                                     \
        int32_t first = word_at(x), second = word_at(x + 2);                                              \
        EH_FOUR_MACS(first, mac);                                                                         \
        EH_FOUR_MACS(second, mac);                                                                        \
      }                                                                                                   \
      if (cin & 2) {                                                                                      \
        int32_t pair = word_at(x);                                                                        \
        EH_FOUR_MACS(pair, mac);                                                                          \
        x += 2;                                                                                           \
      }                                                                                                   \
      if (cin & 1) {                                                                                      \
        int32_t last = (uint16_t)x[0]; /* the pair (x, 0) */                                              \
        EH_FOUR_MACS(last, mac);                                                                          \
      }                                                                                                   \
    }                                                                                                     \
    EH_BLOCK_OUTPUTS(p, o, out);                                                                          \
    return w;                                                                                             \
  }

EH_DEFINE_BLOCK(block_narrow, int32_t, __smlad)
EH_DEFINE_BLOCK(block_wide, int64_t, __smlald)
#else
/* int8 activations, four at a time: bytes (0, 2) and (1, 3) widened into two pairs. */
EH_INLINE const int32_t *block_narrow(const EdgeHarConv *p, const EdgeHarValue *const *taps, int o,
                                     const int32_t *w, EdgeHarValue *out) {
  const int kernel = p->kernel, cin = p->cin;
  int32_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
  for (int j = 0; j < kernel; ++j) {
    const EdgeHarValue *x = taps[j], *quads_end = x + (cin & ~3);
    EH_UNROLLED
    for (; x < quads_end; x += 4) {
      int32_t quad = word_at(x), even = (int32_t)__sxtb16(quad), odd = odd_bytes(quad);
      EH_FOUR_MACS(even, __smlad);
      EH_FOUR_MACS(odd, __smlad);
    }
    if (cin & 3) { /* the last one to three channels, with zeros after them */
      uint32_t quad = 0;
      for (int r = 0; r < (cin & 3); ++r) quad |= (uint32_t)(uint8_t)x[r] << (8 * r);
      int32_t even = (int32_t)__sxtb16(quad), odd = odd_bytes((int32_t)quad);
      EH_FOUR_MACS(even, __smlad);
      EH_FOUR_MACS(odd, __smlad);
    }
  }
  EH_BLOCK_OUTPUTS(p, o, out);
  return w;
}
#endif

EH_INLINE void conv(const EdgeHarConv *p, const EdgeHarValue *ring, uint16_t head, const EdgeHarValue *column,
                    EdgeHarValue *out) {
  const EdgeHarValue *taps[EDGE_HAR_ENGINE_MAX_KERNEL];
  conv_taps(p, ring, head, column, taps);
  const int32_t *w = p->packed;
  for (int o = 0; o < p->cout; o += 4) {
#if EDGE_HAR_ENGINE_BITS == 16
    w = p->wide ? block_wide(p, taps, o, w, out) : block_narrow(p, taps, o, w, out);
#else
    w = block_narrow(p, taps, o, w, out);
#endif
  }
}
#endif
