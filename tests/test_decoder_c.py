"""decoder.h compiled with the host C compiler: its float filter is decoding.py's, and its
integer (log-domain, with a log-add table) filter keeps the float filter's classes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from edge_har.core.decoding import ForwardFilter, Transitions, softmax
from edge_har.data.loading import load_data
from edge_har.eval.parity import rolling_windows
from edge_har.runtime.backends import LiteRTBackend
from edge_har.runtime.export_folder import Exported

CC = os.environ.get("CC", "gcc")
HARNESS = r"""
#include <stdio.h>
#include "decoder.h"
int main(void) {
  int n, zero_point;
  float scale;
  if (scanf("%d %f %d", &n, &scale, &zero_point) != 3) return 2;
  EdgeHarDecoderF f;
  EdgeHarDecoderQ q;
  edge_har_decoder_f_reset(&f);
  edge_har_decoder_q_reset(&q);
  for (int t = 0; t < n; ++t) {
    int32_t integer[EDGE_HAR_DECODE_CLASSES];
    float dequantized[EDGE_HAR_DECODE_CLASSES];
    for (int k = 0; k < EDGE_HAR_DECODE_CLASSES; ++k) {
      if (scanf("%d", &integer[k]) != 1) return 3;
      dequantized[k] = (integer[k] - zero_point) * scale;
    }
    int by_float = edge_har_decoder_f_step(&f, dequantized);
    printf("%d %d\n", by_float, edge_har_decoder_q_step(&q, integer, EDGE_HAR_DECODE_WINDOW_LOGIT_Q));
  }
  return 0;
}
"""


@pytest.mark.skipif(shutil.which(CC) is None, reason=f"no C compiler ({CC}, or $CC) on this machine")
def test_decoder_header_matches_the_float_filter(exported, tmp_path):
    folder = exported / "export"
    report = json.loads((folder / "export.json").read_text())
    assert report["decoding"]["c_header"] == "decoder.h"
    (tmp_path / "harness.c").write_text(HARNESS)
    shutil.copy(folder / "decoder.h", tmp_path)
    subprocess.run([CC, "-std=c99", "-O2", "-Wall", "-Werror", "-o", "harness", "harness.c", "-lm"], cwd=tmp_path,
                   check=True)
    tflite = report["tflite_int8"]
    scale, zero_point = tflite["output_scale"], tflite["output_zero_point"]
    x = Exported.open(folder.parent).model_readings(load_data(None).select(["sim6"]).recordings[0].x)
    logits = LiteRTBackend(folder / "model_int8.tflite").predict(np.ascontiguousarray(rolling_windows(x, 121)))
    integer = np.rint(logits / scale + zero_point).astype(int)
    feed = f"{len(integer)} {scale!r} {zero_point}\n" + "\n".join(" ".join(map(str, row)) for row in integer)
    out = subprocess.run([str(tmp_path / "harness")], input=feed, capture_output=True, text=True, check=True).stdout
    by_float, by_integer = np.array([line.split() for line in out.splitlines()], dtype=int).T
    expected = ForwardFilter(Transitions.from_dict(report["decoding"]["transitions"])).run(softmax(logits))
    assert len(by_float) == len(expected) > 10000
    assert (by_float == expected).mean() >= 0.999  # float32 against float64: ties may round apart
    assert (by_integer == expected).mean() >= 0.999  # the log-add table: max-product alone gave 0.982
    assert (np.diff(expected) != 0).sum() < (np.diff(logits.argmax(1)) != 0).sum()  # it does smooth
