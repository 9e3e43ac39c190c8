/* The new column replaces the oldest of the ring. */
static void push(EdgeHarValue *ring, uint16_t *head, int width, const EdgeHarValue *column, int channels) {
  memcpy(ring + *head * channels, column, (size_t)channels * sizeof *column);
  *head = (uint16_t)(*head + 1 == width ? 0 : *head + 1);
}
