"""The weights as the DSP convolution (c/conv_dsp.c) reads them, laid out at export.

Blocks of four output channels (zero weights after the last channel); per block, per tap, the
input channels as 16-bit pairs, four words (one per output channel) for each pair. int16
activations pair channels (i, i + 1); int8 activations are widened four at a time by SXTB16 into
the pairs (i, i + 2) and (i + 1, i + 3), so their weights pair the same way. A word holds the
first value of its pair in its low half (the cores are little-endian)."""

from __future__ import annotations

import numpy as np

from .engine_ir import Conv

BLOCK = 4  # output channels per block: four accumulators beside two words of activations fit the registers


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


def folded_bias(conv: Conv) -> np.ndarray:
    """The bias with the input offset's products folded in: b + offset * sum(w), so that the DSP
    path multiplies the activations as they are (exact in integers)."""
    return conv.bias.astype(np.int64) + conv.input_offset * conv.weights.reshape(conv.cout, -1).sum(axis=1)
