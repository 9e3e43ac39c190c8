/* The ARMv6-M products of c/fixed_point.c (from 16-bit halves) against the 64-bit ones they stand
 * for, on edge values and many random pairs, built for the host with __ARM_ARCH_6M__ defined.
 * Prints "checked N, wrong W" and exits 1 where any differs. */
#include <stdint.h>
#include <stdio.h>

#include "fixed_point.c"

static int32_t high_mul_64(int32_t a, int32_t b) { return (int32_t)(((int64_t)a * b + (1 << 30)) >> 31); }
static int32_t requantize_high_64(int32_t x, int32_t m) { return (int32_t)(((int64_t)x * m + 0x80000000LL) >> 32); }

static uint64_t state = 88172645463325252ull;
static uint32_t next(void) { /* xorshift64 */
  state ^= state << 13, state ^= state >> 7, state ^= state << 17;
  return (uint32_t)state;
}

int main(void) {
  static const int32_t edges[] = {0, 1, -1, 2, -2, 32767, -32768, 65535, -65536, 65536, INT32_MAX, INT32_MIN + 1,
                                  INT32_MIN, 1 << 30, -(1 << 30), (1 << 30) - 1};
  long checked = 0, wrong = 0;
  for (long i = 0; i < 4000000; ++i) {
    int32_t a = (int32_t)next(), b = (int32_t)next();
    if (i < 256) a = edges[i % 16], b = edges[i / 16];
    if (i % 3 == 1) a >>= next() % 31; /* small values too */
    if (i % 5 == 1) b >>= next() % 31;
    if (!(a == INT32_MIN && b == INT32_MIN)) wrong += high_mul(a, b) != high_mul_64(a, b), ++checked; /* gemmlowp saturates that one */
    int32_t multiplier = b & INT32_MAX;                                                               /* never negative */
    wrong += requantize_high(a, multiplier) != requantize_high_64(a, multiplier), ++checked;
  }
  printf("checked %ld, wrong %ld\n", checked, wrong);
  return wrong != 0;
}
