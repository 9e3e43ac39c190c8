"""The trained TCN rewritten for devices: one R-sample window in, the newest step's logits out.

Batch norm is folded into the convolution before it, and the input normalization into the
first convolutions, so the exported graph is convolutions, ReLUs, additions and slices only,
and takes raw sensor units.

A model that uses |a| computes it inside the ONNX graphs. The int8 TFLite models take it as a
fourth input channel instead (`features_inside=False`): TFLite-Micro has no int8 SQRT, and a
square root per sample before quantizing costs firmware nothing.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from ..core.features import with_magnitude
from .tcn import TCN, TemporalBlock


class WindowModel(nn.Module):
    """(N, R, channels) raw window to (N, classes) logits of its last step (normalization folded).
    With `features_inside=False` the window already holds the feature channels (axes, then |a|)."""

    def __init__(self, tcn: TCN, features_inside: bool = True):
        super().__init__()
        self.tcn, self.features_inside = tcn, features_inside

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        features = self.tcn.features(window) if self.features_inside else window
        return self.tcn.logits_from_normalized(features)[:, -1]


def folded_tcn(model: TCN) -> TCN:
    """A copy of `model` with normalization folded into its weights and dropout removed."""
    tcn = copy.deepcopy(model).eval()
    for block in tcn.blocks:
        _fold_batch_norms(block)
    _fold_input_normalization(tcn)
    return tcn


def folded_window_model(model: TCN, features_inside: bool = True) -> WindowModel:
    return WindowModel(folded_tcn(model), features_inside).eval()


def tflite_input(model: TCN, x: np.ndarray) -> np.ndarray:
    """Raw readings as the int8 TFLite models take them: with |a| appended when the model uses it."""
    return with_magnitude(x) if model.config.magnitude else x


def _fold_batch_norms(block: TemporalBlock) -> None:
    """Fold each unit's batch norm into its conv and drop the (inference-time no-op) dropout."""
    for unit in block.units:
        if isinstance(unit.norm, nn.BatchNorm2d):
            unit.conv = fuse_conv_bn_eval(unit.conv, unit.norm)
            unit.norm = nn.Identity()
        unit.dropout = nn.Identity()


def _fold_input_normalization(tcn: TCN) -> None:
    """conv(W, (x - m) / s) = conv(W / s, x) - sum(W m / s): exact, as the convs are unpadded."""
    first = tcn.blocks[0]
    if isinstance(first.skip, nn.Identity):  # keep the skip path normalized with an explicit 1x1 conv
        channels = tcn.config.feature_channels
        first.skip = nn.Conv2d(channels, channels, 1)
        first.skip.weight.data = torch.eye(channels)[:, :, None, None].clone()
        first.skip.bias.data.zero_()
    for conv in (first.units[0].conv, first.skip):
        _absorb_affine(conv, tcn.mean, tcn.std)
    tcn.mean.zero_()
    tcn.std.fill_(1.0)


@torch.no_grad()
def _absorb_affine(conv: nn.Conv2d, mean: torch.Tensor, std: torch.Tensor) -> None:
    scaled = conv.weight / std[None, :, None, None]
    conv.bias += -(scaled * mean[None, :, None, None]).sum(dim=(1, 2, 3))
    conv.weight.copy_(scaled)
