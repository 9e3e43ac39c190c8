"""What the causal decoder costs per step, float and integer, in one run:

    .venv/bin/python tools/bench_decoder.py RUN [--steps 2000000]

RUN has an export made with `--decode forward` (its `export/decoder.h`). The header is compiled
with the host C compiler (-O2) into a loop that feeds both filters the same stream of integer
logits; it prints nanoseconds per step of each, measured here, beside the arithmetic one step
takes (from the class count K) and the step model's multiply-accumulates per sample
(metrics.json), so that the decoder's share of the work per sample is plain on any machine.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

LOOP = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "decoder.h"

#define ROWS 4096
static int32_t integer[ROWS][EDGE_HAR_DECODE_CLASSES];
static float real[ROWS][EDGE_HAR_DECODE_CLASSES];

static double seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
  long n = atol(argv[1]), sum_f = 0, sum_q = 0;
  uint32_t state = 12345u;
  for (int t = 0; t < ROWS; ++t)  /* noisy logits whose favourite class changes every 500 rows */
    for (int k = 0; k < EDGE_HAR_DECODE_CLASSES; ++k) {
      state = state * 1664525u + 1013904223u;
      integer[t][k] = (int32_t)((state >> 24) % 64) - 32 + (k == (t / 500) % EDGE_HAR_DECODE_CLASSES ? 40 : 0);
      real[t][k] = 0.1f * integer[t][k];
    }
  EdgeHarDecoderF f;
  EdgeHarDecoderQ q;
  edge_har_decoder_f_reset(&f);
  edge_har_decoder_q_reset(&q);
  double start = seconds();
  for (long t = 0; t < n; ++t) sum_f += edge_har_decoder_f_step(&f, real[t % ROWS]);
  double middle = seconds();
  for (long t = 0; t < n; ++t) sum_q += edge_har_decoder_q_step(&q, integer[t % ROWS], EDGE_HAR_DECODE_STEP_LOGIT_Q);
  double end = seconds();
  printf("%.1f %.1f %ld %ld\n", 1e9 * (middle - start) / n, 1e9 * (end - middle) / n, sum_f, sum_q);
  return 0;
}
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--steps", type=int, default=2_000_000)
    args = parser.parse_args()
    header = args.run / "export" / "decoder.h"
    if not header.is_file():
        raise SystemExit(f"{header}: absent; export the run with `edge-har export {args.run} --int8 --decode forward`")
    compiler = os.environ.get("CC", "gcc")
    if shutil.which(compiler) is None:
        raise SystemExit(f"no C compiler ({compiler}, or $CC) on this machine")
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        shutil.copy(header, work)
        (work / "loop.c").write_text(LOOP)
        subprocess.run([compiler, "-std=c99", "-O2", "-D_POSIX_C_SOURCE=199309L", "-o", "loop", "loop.c", "-lm"],
                       cwd=work, check=True)
        out = subprocess.run([str(work / "loop"), str(args.steps)], capture_output=True, text=True, check=True)
    float_ns, integer_ns, _, _ = out.stdout.split()
    metrics = json.loads((args.run / "metrics.json").read_text())
    k = len(metrics["classes"])
    print(f"{args.run}: K = {k} classes, the step model {metrics['macs_per_step']:,} multiply-accumulates per sample")
    print(f"float filter:   {float(float_ns):6.1f} ns per step here; {2 * k} expf, {3 * k} divides, {k * k + k} "
          f"multiplies, {k * k + 2 * k} adds")
    print(f"integer filter: {float(integer_ns):6.1f} ns per step here; {k * (k - 1)} log-adds (a compare, a shift "
          f"and a lookup in a 96-entry table), {k} multiplies, no exp, no divide")
    print(f"(per sample, the model's {metrics['macs_per_step']:,} MACs dwarf either: the filter is "
          f"{k * k / metrics['macs_per_step']:.2%} of them in multiply-adds)")


if __name__ == "__main__":
    main()
