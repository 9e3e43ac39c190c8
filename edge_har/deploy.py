"""The trained TCN rewritten for devices: one R-sample window in, the newest step's logits out.

Batch norm is folded into the convolution before it, and the input normalization into the
first convolutions, so the exported graph is convolutions, ReLUs, additions and slices only,
and takes raw sensor units.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

from .model import TCN, TemporalBlock


class WindowModel(nn.Module):
    """(N, R, channels) raw window to (N, classes) logits of its last step (normalization folded)."""

    def __init__(self, tcn: TCN):
        super().__init__()
        self.tcn = tcn

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        return self.tcn.logits_from_normalized(window)[:, -1]


def folded_window_model(model: TCN) -> WindowModel:
    """A copy of `model` with normalization folded into its weights, wrapped as a WindowModel."""
    tcn = copy.deepcopy(model).eval()
    for block in tcn.blocks:
        _fold_batch_norms(block)
    _fold_input_normalization(tcn)
    return WindowModel(tcn).eval()


def _fold_batch_norms(block: TemporalBlock) -> None:
    """Fold each unit's batch norm into its conv and drop the (inference-time no-op) dropout."""
    for unit in block.units:
        conv, norm = unit[0], unit[1]
        if isinstance(norm, nn.BatchNorm2d):
            unit[0] = fuse_conv_bn_eval(conv, norm)
            unit[1] = nn.Identity()
        unit[3] = nn.Identity()


def _fold_input_normalization(tcn: TCN) -> None:
    """conv(W, (x - m) / s) = conv(W / s, x) - sum(W m / s): exact, as the convs are unpadded."""
    first = tcn.blocks[0]
    if isinstance(first.skip, nn.Identity):  # keep the skip path normalized with an explicit 1x1 conv
        channels = tcn.config.in_channels
        first.skip = nn.Conv2d(channels, channels, 1)
        first.skip.weight.data = torch.eye(channels)[:, :, None, None].clone()
        first.skip.bias.data.zero_()
    for conv in (first.units[0][0], first.skip):
        _absorb_affine(conv, tcn.mean, tcn.std)
    tcn.mean.zero_()
    tcn.std.fill_(1.0)


@torch.no_grad()
def _absorb_affine(conv: nn.Conv2d, mean: torch.Tensor, std: torch.Tensor) -> None:
    scaled = conv.weight / std[None, :, None, None]
    conv.bias += -(scaled * mean[None, :, None, None]).sum(dim=(1, 2, 3))
    conv.weight.copy_(scaled)
