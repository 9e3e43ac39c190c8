"""The causal TCN (DESIGN.md section 2): residual blocks of dilated causal convolutions.

Convolutions are "valid" (no padding inside the model): an input of W steps gives W - R + 1
outputs, each seeing exactly the R samples that end at it. The start of a stream is handled
outside the model, once, by repeating the first sample R - 1 times (`pad_start`); the rolling
buffer and any step model use the same rule, so every engine gives the same per-step output.
The graph therefore has no Pad operators at all.

Tensors inside are (N, C, 1, W): 2-D convolutions with a (1, k) kernel, which TFLite maps
straight onto CONV_2D and whose int8 conversion avoids reshape scale constraints.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import torch
from torch import nn

from ..core.config import ModelConfig
from ..core.errors import UserError
from ..core.features import MAGNITUDE_EPS, pad_start


class ChannelLayerNorm(nn.Module):
    """Layer norm over channels at each time step (stays causal, unlike GroupNorm)."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def _norm(kind: str, channels: int) -> nn.Module:
    return nn.BatchNorm2d(channels) if kind == "batch" else ChannelLayerNorm(channels)


class CausalConvUnit(nn.Sequential):
    """Dilated causal conv, normalization, ReLU and spatial (whole-channel) dropout, reached by
    name (`unit.conv`, `unit.norm`, `unit.dropout`) by the code that folds and steps them."""

    def __init__(self, cin: int, cout: int, kernel_size: int, dilation: int, norm: str, dropout: float):
        super().__init__(OrderedDict(
            conv=nn.Conv2d(cin, cout, (1, kernel_size), dilation=(1, dilation)),
            norm=_norm(norm, cout),
            relu=nn.ReLU(),
            dropout=nn.Dropout2d(dropout),
        ))
        self.context = (kernel_size - 1) * dilation


class TemporalBlock(nn.Module):
    """Two causal conv units with one dilation; the input, cropped to match, is added back."""

    def __init__(self, cin: int, cout: int, kernel_size: int, dilation: int, norm: str, dropout: float):
        super().__init__()
        self.units = nn.Sequential(
            CausalConvUnit(cin, cout, kernel_size, dilation, norm, dropout),
            CausalConvUnit(cout, cout, kernel_size, dilation, norm, dropout),
        )
        self.context = 2 * (kernel_size - 1) * dilation
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.units(x) + self.skip(x[..., self.context:])


class TCN(nn.Module):
    """Raw (N, W, channels) sensor input to (N, W - R + 1, classes) logits.

    With `magnitude`, the length |a| of each sample joins the axes as one more channel: it does
    not change when the device turns, so it carries the intensity of a movement to people who
    wear the device differently (with the tempo blurred by time-warp augmentation, it is what
    tells one person's fast dancing from everyone's running). `mean` and `std` normalize the
    feature channels (axes, then |a|).
    """

    def __init__(self, config: ModelConfig, mean: np.ndarray | None = None, std: np.ndarray | None = None):
        super().__init__()
        self.config = config
        c = config.feature_channels
        self.register_buffer("mean", torch.as_tensor(np.zeros(c) if mean is None else mean, dtype=torch.float32))
        self.register_buffer("std", torch.as_tensor(np.ones(c) if std is None else std, dtype=torch.float32))
        widths = [c] + [config.filters] * config.blocks
        self.blocks = nn.Sequential(*(
            TemporalBlock(widths[i], widths[i + 1], config.kernel_size, 2**i, config.norm, config.dropout)
            for i in range(config.blocks)
        ))
        self.head = nn.Conv2d(config.filters, config.num_classes, 1)

    @property
    def receptive_field(self) -> int:
        return 1 + sum(block.context for block in self.blocks)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Raw (..., channels) to raw (..., feature channels)."""
        if not self.config.magnitude:
            return x
        return torch.cat([x, torch.sqrt((x * x).sum(dim=-1, keepdim=True) + MAGNITUDE_EPS)], dim=-1)  # as features.with_magnitude

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.logits_from_normalized((self.features(x) - self.mean) / self.std)

    def logits_from_normalized(self, z: torch.Tensor) -> torch.Tensor:
        z = z.transpose(1, 2).unsqueeze(2)  # (N, C, 1, W)
        logits = self.head(self.blocks(z))
        return logits.squeeze(2).transpose(1, 2)


@torch.no_grad()
def predict_logits(model: TCN, x: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Per-step logits (N, classes) for one recording, in full-sequence causal passes."""
    model.eval()
    device = next(model.parameters()).device
    r = model.receptive_field
    padded = torch.as_tensor(pad_start(x, r), dtype=torch.float32, device=device)
    outputs = []
    for start in range(0, len(x), chunk):
        piece = padded[start:start + chunk + r - 1]
        outputs.append(model(piece[None])[0].cpu().numpy())
    return np.concatenate(outputs)


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def macs_per_step(config: ModelConfig) -> int:
    """Multiply-accumulates to compute one new output step when every layer keeps its history."""
    total, cin = 0, config.feature_channels
    for _ in range(config.blocks):
        total += config.kernel_size * cin * config.filters + config.kernel_size * config.filters ** 2
        total += cin * config.filters if cin != config.filters else 0
        cin = config.filters
    return total + config.filters * config.num_classes


def macs_per_window(config: ModelConfig, outputs: int = 1) -> int:
    """Multiply-accumulates of one pass over a window of R - 1 + `outputs` samples: one output is
    the rolling-buffer engine's pass; a training window has TrainConfig.window outputs."""
    total, cin, width = 0, config.feature_channels, config.receptive_field - 1 + outputs
    for i in range(config.blocks):
        context = (config.kernel_size - 1) * 2**i
        mid, out = width - context, width - 2 * context
        total += mid * config.kernel_size * cin * config.filters + out * config.kernel_size * config.filters ** 2
        total += out * cin * config.filters if cin != config.filters else 0
        cin, width = config.filters, out
    return total + width * config.filters * config.num_classes


def config_for_receptive_field(r: int, filters: int = 32) -> tuple[int, int]:
    """(kernel_size, blocks) giving exactly R, preferring the fewest weights (kernel x blocks)."""
    if r < 3 or r % 2 == 0:
        raise UserError(f"a receptive field must be odd and at least 3 (R = 2(k-1)(2^K-1)+1), not {r}")
    options = [(k, b) for b in range(1, 11) for k in range(2, 64)
               if 2 * (k - 1) * (2**b - 1) + 1 == r]
    if not options:
        raise UserError(f"no kernel size and block count give R = {r}")
    return min(options, key=lambda kb: (kb[0] * kb[1], kb[1]))
