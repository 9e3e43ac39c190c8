"""The stateful step engine (fp32): one new sample in, that step's logits out, one new column
per layer. Each dilated convolution keeps its last (k - 1) d input columns as state ("fast
WaveNet"), so a sample costs the MACs of one output column instead of a pass over R samples.

The start-of-stream rule is the same as every other engine's: before the first sample, the
stream is that sample repeated R - 1 times; `start` feeds it R - 1 times to fill the states.
"""

from __future__ import annotations

import torch
from torch import nn

from .model import TCN


class StepTCN(nn.Module):
    """Wraps a trained TCN; `forward(sample, states)` returns (logits, new states)."""

    def __init__(self, tcn: TCN):
        super().__init__()
        self.tcn = tcn.eval()
        self.convs = [unit[0] for block in tcn.blocks for unit in block.units]

    def initial_states(self, batch: int = 1) -> list[torch.Tensor]:
        """Zero states of shape (N, C_in, 1, (k - 1) d), one per dilated convolution."""
        return [torch.zeros(batch, conv.in_channels, 1, (conv.kernel_size[1] - 1) * conv.dilation[1])
                for conv in self.convs]

    @torch.no_grad()
    def start(self, first: torch.Tensor) -> list[torch.Tensor]:
        """States after R - 1 copies of the first sample: the start-of-stream rule."""
        states = self.initial_states(first.shape[0])
        for _ in range(self.tcn.receptive_field - 1):
            _, states = self(first, states)
        return states

    def forward(self, sample: torch.Tensor, states: list[torch.Tensor]) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """sample (N, channels) raw; returns logits (N, classes) and the updated states."""
        x = ((sample - self.tcn.mean) / self.tcn.std)[:, :, None, None]  # (N, C, 1, 1)
        new_states, i = [], 0
        for block in self.tcn.blocks:
            h = x
            for unit in block.units:
                history = torch.cat([states[i], h], dim=3)  # (N, C, 1, (k - 1) d + 1)
                new_states.append(history[..., 1:])
                h = unit[3](unit[2](unit[1](unit[0](history))))  # conv, norm, ReLU, dropout
                i += 1
            x = h + block.skip(x)
        return self.tcn.head(x)[:, :, 0, 0], new_states
