/* One tap of the portable convolution's block (conv.c) on ARMv6-M (Cortex-M0/M0+), where the
 * compiler keeps too few of the eight accumulators in registers: four activations an iteration,
 * each feeding the block's eight accumulators, in three instructions a MAC (an unsigned byte
 * load with an immediate offset, MULS, ADD). Three accumulators and the loop's five values take
 * the eight low registers; five accumulators live in high ones, which ADD reaches. The index runs
 * up to zero, so ADDS ends the loop without a compare. For a channel count that is a multiple of
 * four and 32-bit (modulo 2^32) accumulators; conv.c takes every other case, and every case of an
 * unoptimized build (-O0), where GCC cannot give the asm its twelve registers. */
#if defined(__ARM_ARCH_6M__) && defined(__OPTIMIZE__) && EDGE_HAR_ENGINE_BITS == 16 && !defined(EDGE_HAR_ENGINE_DSP)
#define EDGE_HAR_ENGINE_ARMV6M_TAP 1

/* Unified syntax inside (GCC wraps inline asm in the divided one); ADDS into a low register, ADD
 * into a high one. */
#define EH_V6M_MAC(k, add, acc) "ldrb %[t], [%[w], #" #k "]\n\tmuls %[t], %[v], %[t]\n\t" add " " acc ", %[t]\n\t"
#define EH_V6M_EIGHT(k)                                                                                   \
  EH_V6M_MAC(8 * k + 0, "adds", "%[a0]") EH_V6M_MAC(8 * k + 1, "adds", "%[a1]")                           \
  EH_V6M_MAC(8 * k + 2, "adds", "%[a2]") EH_V6M_MAC(8 * k + 3, "add", "%[a3]")                            \
  EH_V6M_MAC(8 * k + 4, "add", "%[a4]") EH_V6M_MAC(8 * k + 5, "add", "%[a5]")                             \
  EH_V6M_MAC(8 * k + 6, "add", "%[a6]") EH_V6M_MAC(8 * k + 7, "add", "%[a7]")
#define EH_V6M_NEXT "ldrsh %[v], [%[end], %[i]]\n\tadds %[i], #2\n\t"

EH_INLINE const EdgeHarWeight *armv6m_tap(const EdgeHarValue *x, int cin, const EdgeHarWeight *w, uint32_t *acc) {
  uint32_t a0 = acc[0], a1 = acc[1], a2 = acc[2], a3 = acc[3], a4 = acc[4], a5 = acc[5], a6 = acc[6], a7 = acc[7];
  const EdgeHarValue *end = x + cin;
  int32_t i = -2 * cin, v, t;
  __asm__(".syntax unified\n1:\n\t" EH_V6M_NEXT EH_V6M_EIGHT(0) EH_V6M_NEXT EH_V6M_EIGHT(1) EH_V6M_NEXT EH_V6M_EIGHT(2)
          "ldrsh %[v], [%[end], %[i]]\n\t" EH_V6M_EIGHT(3)
          "adds %[w], #32\n\t"
          "adds %[i], #2\n\t" /* the flags bne reads: no MULS after it */
          "bne 1b\n\t.syntax divided"
          : [a0] "+l"(a0), [a1] "+l"(a1), [a2] "+l"(a2), [a3] "+h"(a3), [a4] "+h"(a4), [a5] "+h"(a5),
            [a6] "+h"(a6), [a7] "+h"(a7), [i] "+l"(i), [w] "+l"(w), [v] "=&l"(v), [t] "=&l"(t)
          : [end] "l"(end)
          : "cc", "memory");
  acc[0] = a0, acc[1] = a1, acc[2] = a2, acc[3] = a3, acc[4] = a4, acc[5] = a5, acc[6] = a6, acc[7] = a7;
  return w;
}
#endif
