/* TFLite's quantized ADD: both inputs shifted up (20 bits for int8, 15 for int16), each scaled to
 * twice the larger scale, summed, then scaled to the output. */
static inline int32_t add_input(const EdgeHarAddInput *side, int left_shift, EdgeHarValue value) {
  if (side->multiplier == 1 << 30 && side->shift == 0) /* the larger scale's side: high_mul of an even a by 2^30 is a / 2 */
    return (value + side->offset) * (1 << (left_shift - 1));
  return divide_pot(high_mul((value + side->offset) * (1 << left_shift), side->multiplier), -side->shift);
}

EH_INLINE void add(const EdgeHarAdd *p, const EdgeHarValue *a, const EdgeHarValue *b, EdgeHarValue *out) {
  for (int i = 0; i < p->n; ++i) {
    int32_t sum = add_input(&p->a, p->left_shift, a[i]) + add_input(&p->b, p->left_shift, b[i]);
    out[i] = saturate(divide_pot(high_mul(sum, p->output_multiplier), -p->output_shift) + p->output_zero_point,
                      p->low, p->high);
  }
}
