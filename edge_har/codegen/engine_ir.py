"""What the C step does, in order: the engine's program, traced from the step model's graph.

A column is one value per channel for the current step, named by the graph tensor that holds
it; a ring keeps a state's last columns. Each step names what it reads and what it writes, so
scratch.py can place columns in reused slots."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .fixed_point import AddParams


@dataclass(frozen=True)
class Ring:
    """A state of the step model: its last `columns` columns of `channels` values."""

    columns: int
    channels: int

    @property
    def values(self) -> int:
        return self.columns * self.channels


@dataclass
class Conv:
    """A dilated convolution over [ring, column] (ring None: a 1x1 convolution of the column)."""

    ring: int | None
    source: int
    output: int
    kernel: int
    dilation: int
    weights: np.ndarray  # int8, [cout][kernel][cin]
    bias: np.ndarray  # int32 (int8 models) or int64 (16x8)
    multipliers: np.ndarray  # per output channel, as the C requantize takes them
    shifts: np.ndarray
    input_offset: int
    output_zero_point: int
    low: int
    high: int
    narrow: bool  # a 32-bit accumulator cannot overflow (always so with int8 activations)
    high_word: bool  # 16x8: requantized by the product's high word (c/fixed_point.c's requantize_high)

    @property
    def cout(self) -> int:
        return int(self.weights.shape[0])

    @property
    def cin(self) -> int:
        return int(self.weights.shape[2])

    @property
    def macs(self) -> int:
        return int(self.weights.size)

    def reads(self) -> list[int]:
        return [self.source]

    def writes(self) -> int | None:
        return self.output


@dataclass
class Add:
    """TFLite's quantized ADD of two columns."""

    a: int
    b: int
    output: int
    n: int
    params: AddParams

    def reads(self) -> list[int]:
        return [self.a, self.b]

    def writes(self) -> int | None:
        return self.output


@dataclass
class Push:
    """A column into its state's ring, once the convolution reading that history has read it."""

    ring: int
    column: int

    def reads(self) -> list[int]:
        return [self.column]

    def writes(self) -> int | None:
        return None


@dataclass
class Logits:
    """The step's output column, copied to the caller."""

    column: int

    def reads(self) -> list[int]:
        return [self.column]

    def writes(self) -> int | None:
        return None


Step = Conv | Add | Push | Logits


@dataclass
class Program:
    """The engine's steps with every constant they need, and where its columns live."""

    sample_channels: int
    classes: int
    bits: int  # activations: 8, or 16 in a 16x8 model
    input_scale: float
    input_zero_point: int
    output_scale: float
    output_zero_point: int
    rings: list[Ring] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    slots: dict[int, int] = field(default_factory=dict)  # column tensor -> scratch slot (the sample has none)
    slot_width: int = 0  # values per scratch slot: the widest column
    slot_values: int = 0

    @property
    def value_bytes(self) -> int:
        return self.bits // 8

    @property
    def convs(self) -> list[Conv]:
        return [step for step in self.steps if isinstance(step, Conv)]

    @property
    def state_bytes(self) -> int:
        return sum(ring.values for ring in self.rings) * self.value_bytes

    @property
    def scratch_bytes(self) -> int:
        return self.slot_values * self.value_bytes

    @property
    def macs(self) -> int:
        return sum(conv.macs for conv in self.convs)

    def ram_bytes(self, decoded: bool, memory: bool = False) -> int:
        """sizeof(EdgeHarEngine): the rings, then the uint16 ring heads (2-byte aligned), then scratch,
        then, where decoded, the decoder's int32 log beliefs and class (4-byte aligned), then, with a
        memory, its three doubles (8-byte aligned, as every ABI here aligns a double)."""
        heads = self.state_bytes + self.state_bytes % 2 + 2 * max(len(self.rings), 1)
        end = heads + max(self.slot_values, 1) * self.value_bytes
        end = -(-end // 4) * 4 + 4 * self.classes + 4 if decoded else end + end % 2
        return -(-end // 8) * 8 + 3 * 8 if memory else end
