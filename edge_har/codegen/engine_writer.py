"""step_engine.h and step_engine.c: the program as straight-line C over the kernels in c/.

step_engine.c is one file a firmware adds to its build: the hand-written kernels of c/ (in the
order of KERNELS), then the model's constants and a named parameter struct per kernel call, then
edge_har_engine_step, one kernel call per line. The DSP path (c/conv_dsp.c) is chosen by the
compiler for the core (__ARM_FEATURE_DSP); its weight layout is emitted beside the portable one,
each under its own #if, so a build holds one."""

from __future__ import annotations

from pathlib import Path
from string import Template

import numpy as np

from ..core.export_report import CEngine
from ..core.features import MAGNITUDE_EPS
from .c_sources import c_source
from .engine_ir import Add, Conv, Logits, Program, Push
from .tflite_graph import read_graph
from .tracing import trace
from .weight_layouts import ARMV6M_WEIGHT_OFFSET, folded_bias, packed_weights, portable_weights

ENGINE_C, ENGINE_H = "step_engine.c", "step_engine.h"
KERNELS = ("fixed_point.c", "kernel_params.c", "conv_armv6m.c", "conv.c", "conv_dsp.c", "add.c", "push.c", "engine_api.c")
DSP = "EDGE_HAR_ENGINE_DSP"

_DECODING = """
 * Decoded over time (decoder.h, the export's causal filter, integer version): every step also
 * advances the decoder on the step's logits; edge_har_engine_decoded_class gives its class, which
 * switches only on sustained evidence. reset starts it afresh at the stream's first real sample.
 *"""

_ARITHMETIC = {
    8: "int8: per-channel requantization with double rounding, the add kernel's 20-bit shift",
    16: "16x8: 64-bit accumulators (32 where export proves they cannot overflow) and int64 bias, the 64-bit\n"
        " * requantization with a 16-bit multiplier, the add kernel's 15-bit shift",
}


def write_engine(tflite: Path, folder: Path, name: str, classes: list[str], receptive_field: int,
                 units: str | None, decoded: bool = False, label_delay: int = 0,
                 memory_keep: float | None = None) -> CEngine:
    """step_engine.h and step_engine.c beside the step model (`decoded`: with the decoder of the
    export's decoder.h; `label_delay`: the model's, in steps, stated in the header; `memory_keep`:
    the share of its memory a model with one keeps each step, features.memory_keep)."""
    program = trace(read_graph(tflite))
    (folder / ENGINE_H).write_text(engine_header(program, name, classes, receptive_field, units, decoded,
                                                 label_delay, memory_keep))
    (folder / ENGINE_C).write_text(engine_source(program, decoded))
    return CEngine(bits=program.bits, decoded=decoded, ram_bytes=program.ram_bytes(decoded, memory_keep is not None),
                   state_bytes=program.state_bytes, scratch_bytes=program.scratch_bytes,
                   channels=program.sample_channels, readings=_readings(memory_keep), class_count=program.classes,
                   output_scale=program.output_scale, output_zero_point=program.output_zero_point,
                   macs_per_step=program.macs, accumulators=[32 if conv.narrow else 64 for conv in program.convs],
                   source=ENGINE_C, header=ENGINE_H)


def engine_header(program: Program, name: str, classes: list[str], receptive_field: int, units: str | None,
                  decoded: bool, label_delay: int = 0, memory_keep: float | None = None) -> str:
    readings = _readings(memory_keep)
    state_fields = "\n".join(f"  EdgeHarValue state{n}[{ring.values}];  /* {ring.columns} columns x {ring.channels} */"
                             for n, ring in enumerate(program.rings))
    magnitude = ("\n * The model takes |a| as a fourth channel: quantize_reading appends sqrt(x*x + y*y + z*z + "
                 f"{MAGNITUDE_EPS!r}),\n * in double, as every edge-har backend does.\n *"
                 if program.sample_channels > readings else "")
    memory = ("With a memory, the\n * engine keeps the axes' average (EDGE_HAR_ENGINE_MEMORY_KEEP of it each step), "
              "which start begins\n * at the stream's first reading." if memory_keep else "")
    low = -(1 << (program.bits - 1))
    return Template(c_source("step_engine.h.in")).substitute(
        name=name, kind="int8" if program.bits == 8 else "16x8: int16 activations, int8 weights",
        state_bytes=program.state_bytes, scratch_bytes=program.scratch_bytes, units=units or "as trained",
        magnitude=magnitude, arithmetic=_ARITHMETIC[program.bits], bits=program.bits, value_min=low,
        value_max=-low - 1, channels=program.sample_channels, classes=program.classes,
        receptive_field=receptive_field, label_delay=label_delay,
        input_inverse=repr(float(np.float32(1.0 / program.input_scale))),
        input_zero_point=program.input_zero_point, output_scale=repr(program.output_scale),
        output_zero_point=program.output_zero_point, magnitude_eps=repr(MAGNITUDE_EPS),
        max_kernel=max(conv.kernel for conv in program.convs), state_fields=state_fields,
        state_count=max(len(program.rings), 1), scratch_values=max(program.slot_values, 1),
        class_names=", ".join(f'"{c}"' for c in classes),
        decoder_include='#include "decoder.h"  /* the causal decoder the export carries */\n'
                        "#define EDGE_HAR_ENGINE_DECODED 1\n" if decoded else "",
        decoder_fields="\n  EdgeHarDecoderQ decoder;\n  int32_t decoded_class;" if decoded else "",
        decoding=_DECODING if decoded else "", readings=readings, memory=memory,
        memory_readings=", then their memory" if memory_keep else "",
        memory_defines=(f"#define EDGE_HAR_ENGINE_MEMORY 1\n#define EDGE_HAR_ENGINE_MEMORY_KEEP {memory_keep!r}\n"
                        f"#define EDGE_HAR_ENGINE_MEMORY_GAIN {1.0 - memory_keep!r}\n") if memory_keep else "",
        memory_fields="\n  double memory[EDGE_HAR_ENGINE_AXES];  /* the axes' average */" if memory_keep else "")


def engine_source(program: Program, decoded: bool) -> str:
    kernels = "\n".join(c_source(kernel) for kernel in KERNELS)
    convs = [_conv_constants(n, conv, program.bits) for n, conv in enumerate(program.convs)]
    adds = [_add_constants(n, step) for n, step in enumerate(s for s in program.steps if isinstance(s, Add))]
    return "\n".join([kernels, "/* The model. */", *convs, *adds, _step_function(program, decoded), ""])


def _readings(memory_keep: float | None) -> int:
    """Values quantize_reading takes: the axes, then their memory in a model with one."""
    return 6 if memory_keep else 3


def _array(ctype: str, name: str, values) -> str:
    flat = [int(v) for v in np.asarray(values).reshape(-1)]
    lines = [", ".join(str(v) for v in flat[i:i + 24]) for i in range(0, len(flat), 24)]
    return f"static const {ctype} {name}[{len(flat)}] = {{\n  " + ",\n  ".join(lines) + "\n};"


def _conv_constants(n: int, conv: Conv, bits: int) -> str:
    """The arrays and the parameter struct of convolution n; the weights of the path the core
    takes under #if (the DSP path's, ARMv6-M's offset bytes, or signed bytes), what all read before them."""
    bias_type = "int64_t" if bits == 16 else "int32_t"
    width = 0 if conv.ring is None else (conv.kernel - 1) * conv.dilation
    return "\n".join([
        f"/* convolution {n}: {conv.cin} -> {conv.cout} channels, {conv.kernel} taps {conv.dilation} apart */",
        _array("int32_t", f"kConv{n}Multiplier", conv.multipliers),
        _array("int8_t", f"kConv{n}Shift", conv.shifts),
        _array(bias_type, f"kConv{n}Bias", folded_bias(conv)),
        f"#ifdef {DSP}",
        _array("int32_t", f"kConv{n}Packed", packed_weights(conv, bits)),
        "#elif EDGE_HAR_ENGINE_WEIGHT_OFFSET",
        _array("uint8_t", f"kConv{n}Weights", portable_weights(conv, ARMV6M_WEIGHT_OFFSET)),
        "#else",
        _array("int8_t", f"kConv{n}Weights", portable_weights(conv)),
        "#endif",
        f"static const EdgeHarConv kConv{n} = {{",
        f"  .kernel = {conv.kernel}, .dilation = {conv.dilation}, .width = {width}, .cin = {conv.cin}, "
        f".cout = {conv.cout}, .high_word = {int(conv.high_word)}, .wide = {int(not conv.narrow)},",
        f"  .output_zero_point = {conv.output_zero_point}, .low = {conv.low}, .high = {conv.high},",
        f"  .bias = kConv{n}Bias, .multiplier = kConv{n}Multiplier, .shift = kConv{n}Shift,",
        f"#ifdef {DSP}",
        f"  .packed = kConv{n}Packed,",
        "#else",
        f"  .weights = kConv{n}Weights,",
        "#endif",
        "};",
    ])


def _add_constants(n: int, add: Add) -> str:
    p = add.params

    def side(s) -> str:
        return f"{{.offset = {s.offset}, .multiplier = {s.multiplier}, .shift = {s.shift}}}"

    return (f"static const EdgeHarAdd kAdd{n} = {{\n  .n = {add.n}, .left_shift = {p.left_shift}, .a = {side(p.a)}, "
            f".b = {side(p.b)},\n  .output_zero_point = {p.output_zero_point}, .output_multiplier = "
            f"{p.output_multiplier}, .output_shift = {p.output_shift}, .low = {p.low}, .high = {p.high},\n}};")


def _step_function(program: Program, decoded: bool) -> str:
    def column(tensor: int) -> str:
        if tensor not in program.slots:
            return "sample"
        return f"engine->scratch + {program.slots[tensor] * program.slot_width}"

    def ring(index: int | None) -> str:
        return "0, 0" if index is None else f"engine->state{index}, engine->head[{index}]"

    lines = ["int edge_har_engine_step(EdgeHarEngine *engine, const EdgeHarValue *sample, EdgeHarValue *logits) {"]
    convs = adds = 0
    for step in program.steps:
        if isinstance(step, Conv):
            lines.append(f"  conv(&kConv{convs}, {ring(step.ring)}, {column(step.source)}, {column(step.output)});")
            convs += 1
        elif isinstance(step, Add):
            lines.append(f"  add(&kAdd{adds}, {column(step.a)}, {column(step.b)}, {column(step.output)});")
            adds += 1
        elif isinstance(step, Push):
            r = program.rings[step.ring]
            lines.append(f"  push(engine->state{step.ring}, &engine->head[{step.ring}], {r.columns}, "
                         f"{column(step.column)}, {r.channels});")
        elif isinstance(step, Logits):
            lines.append(f"  memcpy(logits, {column(step.column)}, EDGE_HAR_ENGINE_CLASSES * sizeof *logits);")
            if decoded:
                lines.append("  decode(engine, logits);")
    return "\n".join(lines + ["  return best_class(logits);", "}"])
