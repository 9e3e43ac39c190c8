/* The rate converter and the folded quantization (codegen/sensor_input.py is its reference). */

/* TFLite's MultiplyByQuantizedMultiplier for a right shift, on 64 bits (|a| with |a| reaches 2^32):
 * the high-word product rounded half up, then a division by 2^shift rounded half away from zero. */
static int64_t scaled(int64_t value) {
  int64_t product = (value * kEhSensorMultiplier + ((int64_t)1 << 30)) >> 31;
  int64_t mask = ((int64_t)1 << kEhSensorShift) - 1;
  int64_t threshold = (mask >> 1) + (product < 0);
  return (product >> kEhSensorShift) + ((product & mask) > threshold);
}

static EdgeHarValue quantized(int64_t sum) {
  int64_t q = scaled(sum) + EDGE_HAR_ENGINE_INPUT_ZERO_POINT;
  return (EdgeHarValue)(q < EDGE_HAR_ENGINE_VALUE_MIN ? EDGE_HAR_ENGINE_VALUE_MIN
                        : q > EDGE_HAR_ENGINE_VALUE_MAX ? EDGE_HAR_ENGINE_VALUE_MAX : q);
}

#ifndef EDGE_HAR_ENGINE_MEMORY /* |a| is for models without a memory */
static uint32_t square_root(uint64_t value) { /* floor(sqrt(value)), bit by bit */
  uint64_t root = 0, bit = (uint64_t)1 << 62;
  while (bit > value) bit >>= 2;
  for (; bit; bit >>= 2) {
    if (value >= root + bit) {
      value -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
  }
  return (uint32_t)root;
}
#endif

/* Sums of 2^14 x counts to one model input: the axes, then their memory in a model with one (the
 * sums' average, m += ((s 2^8 - m) gain + 2^19) >> 20, in the sums' units), or |a| where it takes it. */
static void quantize_sums(EdgeHarSensor *sensor, const int32_t *sums, EdgeHarValue *input) {
  uint64_t squares = 0;
  for (int k = 0; k < 3; ++k) {
    input[k] = quantized(sums[k]);
    squares += (uint64_t)((int64_t)sums[k] * sums[k]);
  }
#ifdef EDGE_HAR_ENGINE_MEMORY
  (void)squares;
  for (int k = 0; k < 3; ++k) {
    int64_t *memory = &sensor->memory[k];
    *memory += (((int64_t)sums[k] * (1 << EH_SENSOR_MEMORY_FRACTION) - *memory) * EH_SENSOR_MEMORY_GAIN +
                ((int64_t)1 << (EH_SENSOR_MEMORY_BITS - 1))) >> EH_SENSOR_MEMORY_BITS;
    input[3 + k] = quantized((*memory + (1 << (EH_SENSOR_MEMORY_FRACTION - 1))) >> EH_SENSOR_MEMORY_FRACTION);
  }
#else
  (void)sensor;
  if (EDGE_HAR_ENGINE_CHANNELS > 3) input[EDGE_HAR_ENGINE_CHANNELS - 1] = quantized(square_root(squares));
#endif
}

void edge_har_sensor_reset(EdgeHarSensor *sensor, const int16_t *counts, EdgeHarValue *first) {
  int32_t sums[3];
  for (int i = 0; i < 2 * EDGE_HAR_SENSOR_WIDTH; ++i)
    for (int k = 0; k < 3; ++k) sensor->history[i][k] = counts[k];
  sensor->slot = 0;
  sensor->next = 0;
  for (int k = 0; k < 3; ++k) sums[k] = (int32_t)counts[k] * (1 << EH_SENSOR_TAP_BITS);
#ifdef EDGE_HAR_ENGINE_MEMORY
  for (int k = 0; k < 3; ++k) sensor->memory[k] = (int64_t)sums[k] * (1 << EH_SENSOR_MEMORY_FRACTION);
#endif
  quantize_sums(sensor, sums, first);
}

int edge_har_sensor_push(EdgeHarSensor *sensor, const int16_t *counts,
                         EdgeHarValue (*inputs)[EDGE_HAR_ENGINE_CHANNELS]) {
  int32_t sums[3];
#if EDGE_HAR_SENSOR_UP == EDGE_HAR_SENSOR_DOWN
  for (int k = 0; k < 3; ++k) sums[k] = (int32_t)counts[k] * (1 << EH_SENSOR_TAP_BITS);
  quantize_sums(sensor, sums, inputs[0]);
  return 1;
#else
  unsigned slot = sensor->slot;
  for (int k = 0; k < 3; ++k) sensor->history[slot][k] = sensor->history[slot + EDGE_HAR_SENSOR_WIDTH][k] = counts[k];
  int16_t(*window)[3] = &sensor->history[slot + 1]; /* the newest WIDTH readings, oldest first */
  sensor->slot = (uint16_t)(slot + 1 == EDGE_HAR_SENSOR_WIDTH ? 0 : slot + 1);
  int made = 0;
  for (; sensor->next < EDGE_HAR_SENSOR_UP; sensor->next += EDGE_HAR_SENSOR_DOWN) {
    const int16_t *taps = kEhSensorTaps[sensor->next];
    sums[0] = sums[1] = sums[2] = 0;
    for (int i = 0; i < EDGE_HAR_SENSOR_WIDTH; ++i)
      for (int k = 0; k < 3; ++k) sums[k] += (int32_t)taps[i] * window[i][k];
    quantize_sums(sensor, sums, inputs[made++]);
  }
  sensor->next -= EDGE_HAR_SENSOR_UP;
  return made;
#endif
}
