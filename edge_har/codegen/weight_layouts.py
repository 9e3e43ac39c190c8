"""The weights as the convolutions of c/ read them, laid out at export: one layout per path.

The DSP path (c/conv_dsp.c): blocks of four output channels (zero weights after the last channel); per block, per tap, the
input channels as 16-bit pairs, four words (one per output channel) for each pair. int16
activations pair channels (i, i + 1); int8 activations are widened four at a time by SXTB16 into
the pairs (i, i + 2) and (i + 1, i + 3), so their weights pair the same way. A word holds the
first value of its pair in its low half (the cores are little-endian).

The portable path (c/conv.c): blocks of eight output channels; per block, per tap, per input
channel, the block's eight weights, as signed bytes or, for ARMv6-M, plus 128 as unsigned bytes
(which that core loads with an immediate offset; conv.c takes 128 times the activations' sum back
off).

Both paths multiply the activations as they are: an int8 model's input offset is in the bias."""

from __future__ import annotations

import numpy as np

from .engine_ir import Conv

BLOCK = 4  # DSP path: output channels per block: four accumulators beside two words of activations fit the registers
PORTABLE_BLOCK = 8  # portable path: eight accumulators, an activation, a weight and two pointers fit a Cortex-M0
ARMV6M_WEIGHT_OFFSET = 128  # added to each portable weight for ARMv6-M: int8 to 0..255


def packed_weights(conv: Conv, bits: int) -> np.ndarray:
    """int32 words, in the order conv_dsp.c loads them."""
    group = 2 if bits == 16 else 4  # input channels per word of activations
    cout, kernel, cin = conv.weights.shape
    blocks, groups = -(-cout // BLOCK), -(-cin // group)
    weights = np.zeros((blocks * BLOCK, kernel, groups * group), dtype=np.int64)
    weights[:cout, :, :cin] = conv.weights
    # [block, out, tap, group, channel in group] -> [block, tap, group, pair, out, (low, high)]
    by_group = weights.reshape(blocks, BLOCK, kernel, groups, group)
    if group == 4:
        pairs = by_group[..., [0, 2, 1, 3]].reshape(blocks, BLOCK, kernel, groups, 2, 2)
    else:
        pairs = by_group.reshape(blocks, BLOCK, kernel, groups, 1, 2)
    ordered = pairs.transpose(0, 2, 3, 4, 1, 5)
    words = (ordered[..., 0] & 0xFFFF) | ((ordered[..., 1] & 0xFFFF) << 16)
    return words.reshape(-1).astype(np.uint32).view(np.int32)


def portable_weights(conv: Conv, offset: int = 0) -> np.ndarray:
    """The weights plus `offset`, in the order conv.c reads them."""
    cout, kernel, cin = conv.weights.shape
    blocks = -(-cout // PORTABLE_BLOCK)
    weights = np.zeros((blocks * PORTABLE_BLOCK, kernel, cin), dtype=np.int64)
    weights[:cout] = conv.weights
    # [block, out, tap, in] -> [block, tap, in, out]
    ordered = weights.reshape(blocks, PORTABLE_BLOCK, kernel, cin).transpose(0, 2, 3, 1)
    return ordered.reshape(-1) + offset


def folded_bias(conv: Conv) -> np.ndarray:
    """The bias with the input offset's products folded in: b + offset * sum(w), so that the DSP
    paths multiply the activations as they are (exact in integers)."""
    return conv.bias.astype(np.int64) + conv.input_offset * conv.weights.reshape(conv.cout, -1).sum(axis=1)
