"""The stateful step engine: one new sample in, that step's logits out, one new column per layer.

Each dilated convolution keeps its last (k - 1) d input columns as state ("fast WaveNet"), so a
sample costs the MACs of one output column instead of a pass over R samples. Inputs and outputs
are flat, `(sample, *states) -> (logits, *new_states)`, so that ONNX and TFLite see every state
as a tensor of its own: a stream feeds each output back as the matching input, untouched.

A state is (N, 1, (k - 1) d, C_in), channels last and the newest column last: the layout
TFLite's kernels use, so the converted graph needs no transposes around the states. The next
state is the last (k - 1) d columns of [state, new column]: a slice of a concatenation, which
the int8 model quantizes with one shared scale, so state outputs have exactly their inputs'
quantization.

The int16 (16x8) model joins state and column by padding both and adding them instead: the
converter has no int16 CONCATENATION. Adding zeros is exact, in float and in integers.

The start-of-stream rule is the same as every other engine's: before the first sample, the
stream is that sample repeated R - 1 times; `start` feeds it R - 1 times to fill the states.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .folding import folded_tcn
from .tcn import TCN


class StepTCN(nn.Module):
    """A trained TCN as a step function. `folded=True` expects a TCN from `deploy` (raw units in);
    with `features_inside=False` each sample already holds the feature channels (axes, then |a|);
    `join` is how a state and the new column become a convolution's history: "concat" or "pad"."""

    def __init__(self, tcn: TCN, folded: bool = False, features_inside: bool = True, join: str = "concat"):
        super().__init__()
        self.tcn = tcn.eval()
        self.folded, self.features_inside, self.join = folded, features_inside, join
        self.convs = [unit.conv for block in tcn.blocks for unit in block.units]

    @property
    def receptive_field(self) -> int:
        return self.tcn.receptive_field

    def state_shapes(self, batch: int = 1) -> list[tuple[int, ...]]:
        """(N, 1, (k - 1) d, C_in), one per dilated convolution, in forward order."""
        return [(batch, 1, (conv.kernel_size[1] - 1) * conv.dilation[1], conv.in_channels) for conv in self.convs]

    def initial_states(self, batch: int = 1) -> list[torch.Tensor]:
        return [torch.zeros(shape) for shape in self.state_shapes(batch)]

    @torch.no_grad()
    def start(self, first: torch.Tensor) -> list[torch.Tensor]:
        """States after R - 1 copies of the first sample: the start-of-stream rule."""
        states = self.initial_states(first.shape[0])
        for _ in range(self.receptive_field - 1):
            states = list(self(first, *states)[1:])
        return states

    def forward(self, sample: torch.Tensor, *states: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """sample (N, channels) in raw units; returns (logits (N, classes), *new states)."""
        if self.features_inside:
            sample = self.tcn.features(sample)
        if not self.folded:
            sample = (sample - self.tcn.mean) / self.tcn.std
        x = sample[:, :, None, None]  # (N, C, 1, 1)
        new_states, i = [], 0
        for block in self.tcn.blocks:
            h = x
            for unit in block.units:
                history = self._history(states[i].permute(0, 3, 1, 2), h)  # (N, C, 1, (k - 1) d + 1)
                new_states.append(history[..., 1:].permute(0, 2, 3, 1))
                h = unit(history)
                i += 1
            x = h + block.skip(x)
        return (self.tcn.head(x)[:, :, 0, 0], *new_states)

    def _history(self, state: torch.Tensor, column: torch.Tensor) -> torch.Tensor:
        if self.join == "pad":
            return F.pad(state, (0, 1)) + F.pad(column, (state.shape[3], 0))
        return torch.cat([state, column], dim=3)


def folded_step_model(model: TCN, features_inside: bool = True, join: str = "concat") -> StepTCN:
    """The deployable step model: batch norm and input normalization folded, dropout removed."""
    return StepTCN(folded_tcn(model), folded=True, features_inside=features_inside, join=join).eval()


@torch.no_grad()
def stream_states(step: StepTCN, windows: np.ndarray, keep_last: int = 4) -> list[tuple[np.ndarray, ...]]:
    """(sample, *states) inputs met along real streams: each window is streamed from its first
    sample (start rule) and the inputs of its last `keep_last` steps are kept. Calibrating on
    these gives the state tensors the ranges a live stream produces."""
    x = torch.from_numpy(np.ascontiguousarray(windows, dtype=np.float32))
    states = step.start(x[:, 0])
    kept = []
    for t in range(x.shape[1]):
        if t >= x.shape[1] - keep_last:
            kept.append((x[:, t], *states))
        states = list(step(x[:, t], *states)[1:])
    return [tuple(t[n:n + 1].numpy() for t in inputs) for inputs in kept for n in range(len(windows))]
