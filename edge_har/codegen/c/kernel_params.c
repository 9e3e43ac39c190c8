/* What each kernel call needs, prepared at export (the model's constants follow the kernels). */

/* The portable path's weights (conv.c): signed bytes, or on ARMv6-M (Cortex-M0/M0+/M1), which
 * loads a signed byte only with a register offset, the weights plus 128 as unsigned bytes, which load
 * with an immediate offset. */
#if defined(__ARM_ARCH_6M__)
#define EDGE_HAR_ENGINE_WEIGHT_OFFSET 128
typedef uint8_t EdgeHarWeight;
#else
#define EDGE_HAR_ENGINE_WEIGHT_OFFSET 0
typedef int8_t EdgeHarWeight;
#endif

/* A dilated causal convolution: one output column from its ring of past columns and the new one.
 * The ring holds `width` = (kernel - 1) * dilation columns, oldest at the head; a 1x1 convolution
 * has no ring (width 0). Per output channel: bias, requantization multiplier and shift. In a 16x8
 * model, `high_word` 1 says every channel's accumulator and bias fit 32 bits and its shift is 16
 * to 32, so requantize_high applies (the multipliers are given for it, the shifts unused). */
typedef struct {
  int16_t kernel, dilation, width, cin, cout, high_word;
  int16_t wide; /* 1: a 64-bit accumulator (a 32-bit one could overflow); 0: 32 bits suffice */
  int32_t output_zero_point, low, high;
  const Bias *bias; /* with the input offset's products folded in: the kernels multiply activations as they are */
  const int32_t *multiplier;
  const int8_t *shift;
#ifdef EDGE_HAR_ENGINE_DSP
  const int32_t *packed; /* weights laid out for conv_dsp.c; see there */
#else
  const EdgeHarWeight *weights; /* laid out for conv.c; see there */
#endif
} EdgeHarConv;

/* TFLite's quantized ADD of two columns of n values: each input's offset, its multiplier to twice
 * the larger scale and its shift, after both are shifted up by left_shift; then the output's. */
typedef struct {
  int32_t offset, multiplier;
  int shift;
} EdgeHarAddInput;

typedef struct {
  int16_t n, left_shift;
  EdgeHarAddInput a, b;
  int32_t output_zero_point, output_multiplier;
  int output_shift;
  int32_t low, high;
} EdgeHarAdd;
