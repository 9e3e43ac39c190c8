"""The exported C step engine (step_engine.c), compiled with the host C compiler: TFLite-Micro's
integer logits on every step, for int8 and for 16x8 (the default export) models, in a third of
TFLite-Micro's arena, and what it refuses."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from edge_har.codegen import ENGINE_C, EngineError, quantize_multiplier, read_graph, trace
from edge_har.codegen.c_sources import c_source
from edge_har.core.decoding import ForwardFilter, Transitions, softmax
from edge_har.core.export_report import CEngine
from edge_har.data.loading import load_data
from edge_har.device.c_backend import HOST_FLAGS, CStepBackend, c_compiler
from edge_har.device.cores import M4
from edge_har.runtime.backends import LiteRTStepBackend, TflmStepBackend
from edge_har.runtime.export_folder import Exported

from .test_cli import SUBPROCESS_LIMIT_S

DRIVER = Path(__file__).parent / "c" / "engine_over_stdin.c"
needs_compiler = pytest.mark.skipif(c_compiler() is None, reason="no C compiler ($CC, cc or gcc) on this machine")


def _streamed(backend, x: np.ndarray, read) -> list:
    """`read()` after every step of `x`, streamed from its first sample."""
    backend.reset(x[0])
    rows = []
    for sample in x:
        backend.step(sample)
        rows.append(read())
    return rows


BOTH_EXPORTS = pytest.mark.parametrize("run", ["exported", "exported_16x8"])


@needs_compiler
@BOTH_EXPORTS
def test_the_c_engine_gives_tflite_micros_logits_on_every_step_of_a_held_out_person(run, request):
    folder = request.getfixturevalue(run) / "export"
    report = json.loads((folder / "export.json").read_text())
    step = report["step"]
    c_engine = CStepBackend(folder, CEngine.model_validate(step["c_engine"]), report["receptive_field"])
    tflm = TflmStepBackend(folder / "step_int8.tflite", step["tflite_int8"]["tflm_arena_bytes"], report["receptive_field"])
    x = Exported.open(folder.parent).model_readings(load_data(None).select(["sim6"]).recordings[0].x)  # never trained on
    ours, decoded = (np.array(column) for column in zip(*_streamed(
        c_engine, x, lambda: (c_engine.integer_logits(), c_engine.decoded_class()))))
    theirs = np.array(_streamed(tflm, x, lambda: tflm.interpreter.get_output(0)[0].copy()))
    assert len(ours) == len(x) > 10000
    assert ours.dtype == theirs.dtype == (np.int16 if step["c_engine"]["bits"] == 16 else np.int8)
    assert np.array_equal(ours, theirs)
    # the engine's own decoder (decoder.h's integer filter) keeps the float filter's classes
    assert step["c_engine"]["decoded"]
    dequantized = (theirs.astype(np.float64) - step["c_engine"]["output_zero_point"]) * step["c_engine"]["output_scale"]
    expected = ForwardFilter(Transitions.from_dict(report["decoding"]["transitions"])).run(softmax(dequantized))
    assert (decoded == expected).mean() >= 0.999


@needs_compiler
@BOTH_EXPORTS
def test_the_c_engine_needs_a_third_of_the_tflite_micro_arena(run, request):
    folder = request.getfixturevalue(run) / "export"
    report = json.loads((folder / "export.json").read_text())
    engine = report["step"]["c_engine"]
    measured = CStepBackend(folder, CEngine.model_validate(engine), report["receptive_field"]).library.edge_har_engine_bytes()
    assert measured == engine["ram_bytes"]  # sizeof(EdgeHarEngine), as export.json says
    # the states are all it keeps, plus scratch
    assert engine["state_bytes"] == report["step"]["state_values"] * engine["bits"] // 8
    assert measured <= report["step"]["tflite_int8"]["tflm_arena_bytes"] / 3
    cost = engine["cores"]["m4"]
    if M4.missing() is None:  # measured at export: flash holds every weight; a MAC costs a few instructions
        assert cost["flash_bytes"] >= report["params"] and cost["samples"] > 1000
        assert 1 < cost["instructions_per_mac"] < 50
    else:
        assert "not installed" in cost["not_measured"]


def test_multipliers_follow_tflites_rounding():
    assert quantize_multiplier(0.5) == (1 << 30, 0)
    assert quantize_multiplier(1.0) == (1 << 30, 1)
    assert quantize_multiplier(0.75) == (3 << 29, 0)
    assert quantize_multiplier(0.0) == (0, 0)
    multiplier, shift = quantize_multiplier(0.0123)
    assert abs(multiplier * 2.0 ** (shift - 31) - 0.0123) < 1e-11


def test_a_float_step_model_is_refused_with_the_way_out(exported):
    graph = read_graph(exported / "export" / "step_int8.tflite")
    graph.tensors[graph.inputs[1]].dtype = "float32"
    with pytest.raises(EngineError, match="--activations int8 or int16"):
        trace(graph)


def test_a_16x8_join_that_would_requantize_the_state_is_refused(exported_16x8):
    graph = read_graph(exported_16x8 / "export" / "step_int8.tflite")
    padded = {op.outputs[0] for op in graph.ops if op.name == "PAD"}
    join = next(op for op in graph.ops if op.name == "ADD" and set(op.inputs) <= padded)  # a state and its new column
    graph.tensors[join.outputs[0]].scales = graph.tensors[join.outputs[0]].scales * 1.5
    with pytest.raises(EngineError, match="requantizes"):
        trace(graph)


def _spliced(x: np.ndarray) -> np.ndarray:
    """A recording with what a sensor driver can deliver spliced in: NaN (the very first reading too),
    infinities and values far beyond any sensor's range, alone and on every axis at once."""
    x = x.astype(np.float32).copy()
    rng = np.random.default_rng(0)
    odd = [np.nan, np.inf, -np.inf, 3e38, -3e38, 1e6, -1e6]
    x[0, 1] = np.nan
    for i, row in enumerate(rng.choice(np.arange(1, len(x)), size=300, replace=False)):
        value = odd[i % len(odd)]
        x[row, i % 4 if i % 4 < 3 else slice(None)] = value
    return x


@needs_compiler
@BOTH_EXPORTS
def test_every_reading_is_defined_alike_in_the_c_engine_and_the_host_backends(run, request):
    """The reading rule (NaN reads as 0, an infinity saturates): every host backend's integer input
    equals the C engine's for every reading of a recording with non-finite readings spliced in, and
    the C engine's logits equal TFLite-Micro's on every step (LiteRT's optimized kernels round
    differently from TFLite-Micro's reference ones, with any readings)."""
    folder = request.getfixturevalue(run) / "export"
    report = json.loads((folder / "export.json").read_text())
    step, r = report["step"], report["receptive_field"]
    x = Exported.open(folder.parent).model_readings(_spliced(load_data(None).select(["sim6"]).recordings[0].x[:3000]))
    c_engine = CStepBackend(folder, CEngine.model_validate(step["c_engine"]), r)
    tflm = TflmStepBackend(folder / "step_int8.tflite", step["tflite_int8"]["tflm_arena_bytes"], r)
    litert = LiteRTStepBackend(folder / "step_int8.tflite", r)
    ours = np.array(_streamed(c_engine, x, c_engine.integer_logits))
    assert np.array_equal(ours, np.array(_streamed(tflm, x, lambda: tflm.interpreter.get_output(0)[0].copy())))
    engine_inputs = []
    for sample in x:
        c_engine.step(sample)
        engine_inputs.append(list(c_engine.sample))
    assert [litert.io.quantize_sample(sample) for sample in x] == engine_inputs
    assert litert.io.quantize(x).tolist() == engine_inputs  # the window models' whole-array path


@needs_compiler
def test_the_engine_takes_no_undefined_path_under_the_sanitizers(exported_16x8, tmp_path):
    """The host build of step_engine.c under -fsanitize=address,undefined,float-cast-overflow, over
    the spliced recording: no report, and the logits of the ordinary build."""
    folder = exported_16x8 / "export"
    report = json.loads((folder / "export.json").read_text())
    binary = tmp_path / "engine"
    build = subprocess.run([c_compiler(), *HOST_FLAGS, "-g", "-fsanitize=address,undefined,float-cast-overflow",
                            "-fno-sanitize-recover=all", "-I", str(folder), "-o", str(binary),
                            str(DRIVER), str(folder / ENGINE_C), "-lm"], capture_output=True, text=True)
    if build.returncode != 0 and "asan" in build.stderr.lower():
        pytest.skip(f"the compiler has no sanitizer runtime: {build.stderr.strip()[-200:]}")
    assert build.returncode == 0, build.stderr
    x = _spliced(load_data(None).select(["sim6"]).recordings[0].x[:3000])
    ran = subprocess.run([str(binary)], input=x.astype(np.float32).tobytes(), capture_output=True,
                         timeout=SUBPROCESS_LIMIT_S)  # the axes: the engine computes the memory itself
    assert ran.returncode == 0 and b"runtime error" not in ran.stderr, ran.stderr.decode()[-2000:]
    logits = np.array([[int(v) for v in line.split()] for line in ran.stdout.decode().splitlines()])
    engine = CStepBackend(folder, CEngine.model_validate(report["step"]["c_engine"]), report["receptive_field"])
    readings = Exported.open(exported_16x8).model_readings(x)
    assert np.array_equal(logits, np.array(_streamed(engine, readings, engine.integer_logits)))


@needs_compiler
def test_a_whole_recording_in_one_call_equals_the_engine_step_by_step(exported_16x8):
    folder = exported_16x8 / "export"
    report = json.loads((folder / "export.json").read_text())
    engine = CStepBackend(folder, CEngine.model_validate(report["step"]["c_engine"]), report["receptive_field"])
    x = _spliced(load_data(None).select(["sim6"]).recordings[0].x[:2000])
    stepwise = np.array(_streamed(engine, Exported.open(exported_16x8).model_readings(x), engine.integer_logits))
    np.testing.assert_array_equal(engine.run(x), stepwise * engine.scale + engine.offset)  # run: the memory in C


@needs_compiler
def test_the_armv6m_products_equal_the_64_bit_ones(tmp_path):
    """The Cortex-M0's requantization products from 16-bit halves (c/fixed_point.c), built for the
    host with __ARM_ARCH_6M__ defined, against 64-bit ones on edge values and random pairs."""
    (tmp_path / "fixed_point.c").write_text(c_source("fixed_point.c"))
    (tmp_path / "step_engine.h").write_text("#define EDGE_HAR_ENGINE_BITS 16\ntypedef int16_t EdgeHarValue;\n")
    program = tmp_path / "products"
    subprocess.run([c_compiler(), *HOST_FLAGS, "-Wno-unused-function", "-D__ARM_ARCH_6M__", f"-I{tmp_path}", "-o", str(program),
                    str(Path(__file__).parent / "c" / "armv6m_products.c"), "-lm"], check=True)
    result = subprocess.run([str(program)], capture_output=True, text=True, timeout=SUBPROCESS_LIMIT_S)
    checked, wrong = (int(word.strip(",")) for word in result.stdout.split()[1::2])
    assert result.returncode == 0 and wrong == 0 and checked > 7_990_000, result.stdout
