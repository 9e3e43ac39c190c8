"""The C step engine on each core against TFLite-Micro, on every step of a held-out recording:

    .venv/bin/python tools/core_parity.py RUN --data PATH --subject S

RUN is exported with `--int8`. For each core of edge_har/device/cores.py whose cross compiler and
QEMU are here, the logits firmware (firmware_host/device/logits.c) runs under QEMU and is fed each
of the subject's recordings, at the model's rate, one reading per step (each recording its own
stream, from a reset); its integer logits are compared with TFLite-Micro's (the step_int8.tflite
the engine was generated from) on every step.
Prints, per core, the steps, the steps whose logits are identical, and the path (DSP or portable).
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from edge_har.data.dataset import at_rate
from edge_har.data.loading import load_data
from edge_har.device.core_logits import core_logits, tflm_logits
from edge_har.device.cores import CORES
from edge_har.runtime.export_folder import Exported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", required=True)
    parser.add_argument("--subject", required=True)
    args = parser.parse_args()
    export = Exported.open(args.run)
    engine = export.c_engine
    if engine is None:
        raise SystemExit(f"{args.run}: no C step engine; export it again with `--int8`")
    data, _ = at_rate(load_data(args.data).select([args.subject]), export.sample_rate_hz)
    recordings = [r.x for r in data.recordings]
    theirs = np.concatenate([tflm_logits(export, x) for x in recordings])
    steps = len(theirs)
    print(f"{args.run} ({engine.bits}-bit activations), {args.subject}: {steps:,} steps in {len(recordings)} "
          "recording(s) against TFLite-Micro")
    print("| core | path | steps | identical logits | seconds under QEMU |")
    print("| --- | --- | ---: | ---: | ---: |")
    for core in CORES.values():
        if core.missing():
            print(f"| {core.title} | not run: {core.missing()} | | | |")
            continue
        started = time.monotonic()
        ours = np.concatenate([core_logits(core, export.folder, x, engine.bits, engine.class_count)
                               for x in recordings])
        same = int((ours == theirs).all(axis=1).sum())
        print(f"| {core.title} | {'DSP' if core.dsp else 'portable'} | {steps:,} | {same:,} | "
              f"{time.monotonic() - started:.0f} |")


if __name__ == "__main__":
    main()
