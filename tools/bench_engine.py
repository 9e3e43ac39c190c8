"""What the C step engine costs on each core, the portable C path beside the DSP path, in one run:

    .venv/bin/python tools/bench_engine.py RUN [--data PATH --subject S] [--rate-hz 50 --clock-mhz 64]

RUN is exported with `--int8` (it holds step_engine.c; export.json's step.c_engine.cores has the
same figures, measured at export on the run's held-out windows). For each core of
edge_har/device/cores.py whose cross compiler and QEMU are here: flash (`size` of the engine with
the model's constants, -O2), instructions per sample and per MAC (the engine steps through 2,000
samples of a recording under QEMU with `-icount shift=0`, timed by the core's counter, calibrated
in the same run; edge_har/device/cost.py), the reading's quantization, and the share of a core at
the named clock the engine takes at the named rate. QEMU counts instructions, not cycles: on
silicon, wait states, memory latency and multi-cycle instructions add to them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from edge_har.data.dataset import at_rate
from edge_har.data.loading import load_data
from edge_har.device.cores import CORES
from edge_har.device.cost import core_cost, duty_cycle
from edge_har.runtime.export_folder import Exported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", default=None)
    parser.add_argument("--subject", default=None)
    parser.add_argument("--rate-hz", type=float, default=None, help="samples per second (default: the model's)")
    parser.add_argument("--clock-mhz", type=float, default=64.0)
    args = parser.parse_args()
    export = Exported.open(args.run)
    engine = export.c_engine
    if engine is None:
        raise SystemExit(f"{args.run}: no C step engine; export it again with `--int8`")
    data = load_data(args.data)
    data, _ = at_rate(data.select([args.subject or data.subjects[-1]]), export.sample_rate_hz)
    rec = data.recordings[0]
    macs = engine.macs_per_step
    rate = args.rate_hz or export.sample_rate_hz or 50.0
    arena = export.tflm_arena("step")
    print(f"{args.run}: the C step engine ({engine.bits}-bit activations, {macs:,} MACs per step); RAM "
          f"{engine.ram_bytes:,} bytes, {engine.ram_bytes / arena:.0%} of TFLite-Micro's {arena:,}-byte arena")
    print(f"| core | path | flash bytes | instructions per sample | per MAC | quantize | at {rate:g} Hz on "
          f"{args.clock_mhz:g} MHz |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    for core in CORES.values():
        if core.missing():
            print(f"| {core.title} | not measured: {core.missing()} | | | | | |")
            continue
        for portable in ([True, False] if core.dsp else [True]):
            cost = core_cost(core, export.folder, rec.x, rec.y, data.classes, export.sample_rate_hz, macs, portable)
            share = duty_cycle(cost.instructions_per_sample, rate, args.clock_mhz * 1e6)
            print(f"| {core.title} | {'DSP' if cost.dsp_path else 'portable'} | {cost.flash_bytes:,} | "
                  f"{cost.instructions_per_sample:,} | {cost.instructions_per_mac} | "
                  f"{cost.quantize_instructions_per_sample:,} | {share:.2%} |")


if __name__ == "__main__":
    main()
