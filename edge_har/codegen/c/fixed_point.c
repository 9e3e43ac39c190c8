/* TFLite-Micro's integer arithmetic, as its reference kernels do it (read, not copied). */
#include <math.h>
#include <string.h>

#include "step_engine.h"

/* Each kernel call of the step function is expanded in place, so that the compiler sees the call's
 * parameters (a const struct) as constants: loop counts, shifts and multipliers fold into the code. */
#define EH_INLINE __attribute__((always_inline)) static inline

#if defined(__ARM_FEATURE_DSP) && !defined(EDGE_HAR_ENGINE_PORTABLE)
#include <arm_acle.h>
#define EDGE_HAR_ENGINE_DSP 1 /* the ARMv7E-M / ARMv8-M DSP extension: dual 16x16 MACs (conv_dsp.c) */
#endif

/* gemmlowp's SaturatingRoundingDoublingHighMul: (a * b * 2) >> 32, rounded to nearest. Its nudge
 * (2^30, or 1 - 2^30 below zero) and division by 2^31 toward zero are floor((a * b + 2^30) / 2^31)
 * for every product, which is one multiply-accumulate and a shift. Its one saturating case,
 * a = b = INT32_MIN, never arises here: b is always a multiplier, never negative. */
#if defined(__ARM_ARCH_6M__)
/* ARMv6-M (Cortex-M0/M0+) has no 32 x 32 -> 64 multiply, and GCC calls libgcc's 64 x 64 one for
 * these products; four 16 x 16 products and their carries do them in place, exactly: with
 * a = ah 2^16 + al and b = bh 2^16 + bl (al, bl unsigned, ah, bh signed), a b = ah bh 2^32 +
 * (ah bl + al bh) 2^16 + al bl, and the part below bit 32 is summed in 16-bit pieces, `rounding`
 * added at bit 16, so that no sum overflows. `high` is the 2^32 part, `mid` the bits 16 and up below it. */
static inline void product_parts(int32_t a, int32_t b, uint32_t rounding, int32_t *high, uint32_t *mid) {
  const uint32_t al = (uint16_t)a, bl = (uint16_t)b;
  const int32_t ah = a >> 16, bh = b >> 16;
  const int32_t cross_a = ah * (int32_t)bl, cross_b = (int32_t)al * bh;
  *mid = ((al * bl) >> 16) + (uint16_t)cross_a + (uint16_t)cross_b + rounding;
  *high = ah * bh + (cross_a >> 16) + (cross_b >> 16);
}

static inline int32_t high_mul(int32_t a, int32_t b) { /* (a b + 2^30) >> 31 */
  int32_t high;
  uint32_t mid;
  product_parts(a, b, 1u << 14, &high, &mid);
  return (int32_t)(2 * (uint32_t)high + (mid >> 15));
}
#else
static inline int32_t high_mul(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * b + (1 << 30)) >> 31);
}
#endif

/* gemmlowp's RoundingDivideByPOT: x / 2^e, rounded half away from zero. Its mask and threshold
 * compare are (x + 2^(e - 1) - (x < 0)) >> e for e >= 1; x + 2^(e - 1) stays in range because
 * |x| <= 2^30 wherever it is used (products of high_mul with multipliers below one). */
static inline int32_t divide_pot(int32_t x, int e) {
  return e == 0 ? x : (x + (1 << (e - 1)) - (x < 0)) >> e;
}

#if EDGE_HAR_ENGINE_BITS == 16
typedef int64_t Accumulator;
typedef int64_t Bias;

/* The 64-bit MultiplyByQuantizedMultiplier of 16x8 kernels: x times the multiplier cut to 16 bits,
 * then one rounding shift by 15 - shift (both prepared at export). */
static int32_t requantize(int64_t x, int32_t multiplier, int shift) {
  return (int32_t)((x * multiplier + ((int64_t)1 << (shift - 1))) >> shift);
}

/* The same where x fits 32 bits and the shift t is 16 to 32: export gives multiplier * 2^(32 - t),
 * so the rounding shift is the product's high word (one multiply-accumulate; exact, as floor
 * division by 2^(32 - t) and by 2^t compose). */
static inline int32_t requantize_high(int32_t x, int32_t multiplier) {
#if defined(__ARM_ARCH_6M__)
  int32_t high;
  uint32_t mid;
  product_parts(x, multiplier, 1u << 15, &high, &mid);
  return high + (int32_t)(mid >> 16);
#else
  return (int32_t)(((int64_t)x * multiplier + 0x80000000LL) >> 32);
#endif
}
#else
typedef int32_t Accumulator;
typedef int32_t Bias;

/* MultiplyByQuantizedMultiplier with double rounding (TFLite-Micro's default build): a left shift
 * for a multiplier above one, the rounding high multiply, a rounding right shift below one. */
static int32_t requantize(int32_t x, int32_t multiplier, int shift) {
  return divide_pot(high_mul(x * (1 << (shift > 0 ? shift : 0)), multiplier), shift > 0 ? 0 : -shift);
}
#endif

static inline EdgeHarValue saturate(int32_t x, int32_t low, int32_t high) {
  return (EdgeHarValue)(x < low ? low : x > high ? high : x);
}
