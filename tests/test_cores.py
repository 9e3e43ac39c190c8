"""The C step engine on each core of edge_har/device/cores.py under QEMU, through the logits
firmware (firmware_host/device/logits.c): TFLite-Micro's integer logits on every step, on the
DSP path (Cortex-M4, M33) as on the portable one (M0, RISC-V), for int8 and 16x8 exports."""

from __future__ import annotations

import functools
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from edge_har.codegen.fixed_point import high_mul, narrow_accumulator_suffices
from edge_har.data.loading import load_data
from edge_har.device.core_logits import core_logits, tflm_logits
from edge_har.device.cores import CORES
from edge_har.runtime.export_folder import Exported

STEPS = 2000  # of sim6, the synthetic run's validation person (never trained on)
BOTH_EXPORTS = pytest.mark.parametrize("run", ["exported", "exported_16x8"])


def _sim6() -> np.ndarray:
    return load_data(None).select(["sim6"]).recordings[0].x[:STEPS]


@functools.cache
def _tflm_logits_of_sim6(folder: Path) -> np.ndarray:
    """TFLite-Micro's logits for `_sim6()`, once per export (every core is compared with them)."""
    return tflm_logits(Exported.open(folder.parent), _sim6())


def _on_core(core, folder: Path, x: np.ndarray) -> np.ndarray:
    engine = json.loads((folder / "export.json").read_text())["step"]["c_engine"]
    return core_logits(core, folder, x, engine["bits"], engine["class_count"])


# Every core with the default export; the int8 export on the Cortex-M4 by default and on the
# others with `make test-slow` (the default run stays within CI's 10 minutes).
CORE_RUNS = [pytest.param(core, run, id=f"{name}-{run}",
                          marks=[pytest.mark.slow] if run == "exported" and name != "m4" else [])
             for name, core in CORES.items() for run in ("exported", "exported_16x8")]


@pytest.mark.parametrize(("core", "run"), CORE_RUNS)
def test_every_core_gives_tflite_micros_logits_on_every_step(core, run, request):
    if core.missing():
        pytest.skip(f"{core.title}: {core.missing()} (.ci/run installs them)")
    folder = request.getfixturevalue(run) / "export"
    ours, theirs = _on_core(core, folder, _sim6()), _tflm_logits_of_sim6(folder)
    assert ours.shape == theirs.shape == (STEPS, 5)
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("core", ["m4", "m0", "rv32"])
def test_64_bit_accumulators_give_the_same_logits(exported_16x8, tmp_path, core):
    """Every layer of the default model fits 32-bit accumulators; forced to 64 bits (SMLALD on the
    Cortex-M4, the portable path's int64 blocks on the others), the logits stay TFLite-Micro's."""
    core = CORES[core]
    if core.missing():
        pytest.skip(core.missing())
    folder = tmp_path / "wide"
    shutil.copytree(exported_16x8 / "export", folder)
    source = (folder / "step_engine.c").read_text()
    assert ".wide = 0" in source and ".wide = 1" not in source
    (folder / "step_engine.c").write_text(source.replace(".wide = 0", ".wide = 1"))
    assert np.array_equal(_on_core(core, folder, _sim6()), _tflm_logits_of_sim6(exported_16x8 / "export"))


@BOTH_EXPORTS
def test_the_dsp_path_is_faster_than_the_portable_one_on_the_cortex_m4(run, request):
    """At export: at most 1.5 instructions per MAC on the Cortex-M4 (QEMU counts instructions)."""
    engine = json.loads((request.getfixturevalue(run) / "export" / "export.json").read_text())["step"]["c_engine"]
    cost = engine["cores"]["m4"]
    if "not_measured" in cost:
        pytest.skip(cost["not_measured"])
    assert cost["dsp_path"] and cost["instructions_per_mac"] <= 1.5
    assert engine["cortex_m4"] == cost
    portable = [engine["cores"][name] for name in ("m0", "rv32") if "not_measured" not in engine["cores"][name]]
    if run == "exported_16x8" and CORES["rv32"].missing() is None:
        assert portable  # conftest's 16x8 export measures the RISC-V core too
    assert all(not c["dsp_path"] and c["instructions_per_mac"] > cost["instructions_per_mac"] for c in portable)
    # The portable path's blocks of eight channels (c/conv.c): 7.61 instructions per MAC on rv32 before them
    assert all(c["instructions_per_mac"] <= 4.0 for c in portable if c["core"].startswith("32-bit RISC-V"))


def test_a_32_bit_accumulator_is_chosen_only_where_it_cannot_overflow():
    weights = np.full((2, 5, 128), 127, dtype=np.int8)
    weights[1] = 1
    fits = narrow_accumulator_suffices(weights, np.array([0, 0]), bits=16)
    assert fits.tolist() == [False, True]  # 127 * 640 * 32768 > 2^31 - 1; 640 * 32768 is not
    assert not narrow_accumulator_suffices(weights[1:], np.array([2**31 - 640 * 32768]), bits=16)[0]
    assert narrow_accumulator_suffices(weights, np.array([0, 0]), bits=8).all()


def _gemmlowp_high_mul(product: int) -> int:
    """SaturatingRoundingDoublingHighMul as gemmlowp writes it: a nudge, then division toward zero."""
    nudged = product + (1 << 30 if product >= 0 else 1 - (1 << 30))
    return (abs(nudged) >> 31) * (1 if nudged >= 0 else -1)


def test_the_high_multiply_is_gemmlowps_nudged_division_toward_zero():
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.integers(-2**31, 2**31, 20000), rng.integers(-2**16, 2**16, 20000) << 14])
    for b in (1 << 30, (1 << 31) - 1, 1, int(rng.integers(1 << 30, 1 << 31))):
        assert high_mul(a, b).tolist() == [_gemmlowp_high_mul(int(v) * b) for v in a]
