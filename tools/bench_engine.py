"""What the C step engine costs on a Cortex-M4, beside TFLite-Micro's arena for the same model:

    .venv/bin/python tools/bench_engine.py RUN [--data PATH --subject S]

RUN is exported with `--int8` (it holds step_engine.c; export.json's step.c_engine.cortex_m4 has the
same figures, measured at export on the run's held-out windows). Needs arm-none-eabi-gcc and
qemu-system-arm. Prints the engine's RAM (its state struct, as export.json says and the compiler's
sizeof checks in the tests), its flash (`arm-none-eabi-size` of the engine with the model's
constants, compiled for the Cortex-M4 at -O2), and instructions per sample: the engine steps
through 2,000 samples of a recording (default: the data's last subject) under QEMU's mps2-an386
with `-icount shift=0`, timed by the SysTick, calibrated in the same run (edge_har/device_cost.py).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from edge_har.data.dataset import at_rate
from edge_har.data.loading import load_data
from edge_har.device.cost import cortex_m4_cost, missing_tools
from edge_har.runtime.export_folder import Exported


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--data", default=None)
    parser.add_argument("--subject", default=None)
    args = parser.parse_args()
    export = Exported.open(args.run)
    engine = export.report["step"].get("c_engine")
    if engine is None:
        raise SystemExit(f"{args.run}: no C step engine; export it again with `--int8`")
    missing = missing_tools()
    if missing:
        raise SystemExit(missing)
    data = load_data(args.data)
    data, _ = at_rate(data.select([args.subject or data.subjects[-1]]), export.sample_rate_hz)
    rec = data.recordings[0]
    macs = json.loads((args.run / "metrics.json").read_text())["macs_per_step"]
    cost = cortex_m4_cost(export.folder, rec.x, rec.y, data.classes, export.sample_rate_hz, macs)
    arena = export.report["step"]["tflite_int8"]["tflm_arena_bytes"]
    print(f"{args.run}: the C step engine ({engine.get('bits', 8)}-bit activations) on a Cortex-M4 "
          "(mps2-an386 under QEMU)")
    print(f"RAM:   {engine['ram_bytes']:,} bytes (states {engine['state_bytes']:,}, scratch {engine['scratch_bytes']}), "
          f"{engine['ram_bytes'] / arena:.0%} of TFLite-Micro's {arena:,}-byte arena for the same step model")
    print(f"flash: {cost['flash_bytes']:,} bytes (text {cost['text_bytes']:,}, data {cost['data_bytes']}): code, "
          "weights and constants")
    print(f"instructions per sample: {cost['instructions_per_sample']:,} ({cost['instructions_per_mac']} per MAC of "
          f"{macs:,}), over {cost['samples']} samples; {cost['instructions_per_systick']} instructions per SysTick "
          "tick (calibrated)")


if __name__ == "__main__":
    main()
