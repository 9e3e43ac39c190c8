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
static inline int32_t high_mul(int32_t a, int32_t b) {
  return (int32_t)(((int64_t)a * b + (1 << 30)) >> 31);
}

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
  return (int32_t)(((int64_t)x * multiplier + 0x80000000LL) >> 32);
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
