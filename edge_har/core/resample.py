"""Sample-rate conversion, in one place for training, parity, the emulator and the stream.

Both converters use the same anti-aliasing filter: a Kaiser-windowed low-pass FIR (beta 5)
with 10 taps per side for each input period at the lower rate, the design of
`scipy.signal.resample_poly`. Offline (`resample`), the filter runs forwards and backwards in
effect (zero phase), for recordings whose every sample is known. On a live stream
(`StreamResampler`), it runs causally: each output stands for a time `delay_s` before the
newest input, which the stream reports with the output.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from .errors import DataError

MAX_DENOMINATOR = 1000  # rates are matched to a ratio of integers up to this size
TAPS_PER_SIDE = 10
SAME_RATE = 0.005  # rates closer than this (relative) are one rate: timestamps jitter


def ratio(from_hz: float, to_hz: float) -> tuple[int, int]:
    """(up, down): to_hz / from_hz as a small integer fraction."""
    if not (from_hz > 0 and to_hz > 0):
        raise DataError(f"sample rates must be positive, not {from_hz} and {to_hz}")
    fraction = Fraction(to_hz / from_hz).limit_denominator(MAX_DENOMINATOR)
    return fraction.numerator, fraction.denominator


def design(up: int, down: int) -> np.ndarray:
    """The low-pass FIR at the upsampled rate, with gain `up` (scipy.signal.resample_poly's design)."""
    from scipy import signal  # a heavy import, needed only where rates differ

    half = TAPS_PER_SIDE * max(up, down)
    return signal.firwin(2 * half + 1, 1.0 / max(up, down), window=("kaiser", 5.0)) * up


def resample(x: np.ndarray, from_hz: float, to_hz: float) -> np.ndarray:
    """(N, channels) readings at `from_hz` to `to_hz`, zero phase, the ends held (no ramps from zero)."""
    from scipy import signal

    up, down = ratio(from_hz, to_hz)
    if up == down:
        return x
    return signal.resample_poly(x, up, down, axis=0, window=design(up, down) / up, padtype="edge").astype(x.dtype)


def resample_labels(y: np.ndarray, from_hz: float, to_hz: float, length: int) -> np.ndarray:
    """Labels at the new rate: each new step takes the label of the nearest old step."""
    nearest = np.rint(np.arange(length) * (from_hz / to_hz)).astype(np.int64)
    return y[np.minimum(nearest, len(y) - 1)]


class StreamResampler:
    """A causal polyphase resampler: `push(samples)` takes a burst of inputs, (n, channels), and
    returns the model-rate outputs they complete, (k, channels), with, for each, the burst index
    of the input that completed it.

    Input j is at time j / from_hz; output n at n / to_hz - delay_s. Output n is complete once
    input floor(n down / up) has arrived, and its taps depend on the phase n down - j up only, so
    a burst is one gather of windows and one product. Bursts are what a stream reads when it is
    behind, which is when the cost counts; a stream that keeps up pushes single samples, which
    take a shorter path of ready taps and views. Before the first sample the
    stream is that sample held (the start-of-stream rule), so a stream starts without a ramp.
    `reset(first)` starts a new stream."""

    def __init__(self, from_hz: float, to_hz: float, channels: int = 3):
        self.up, self.down = ratio(from_hz, to_hz)
        taps = design(self.up, self.down)
        self.delay_s = (len(taps) - 1) / 2 / (self.up * from_hz)
        self.width = -(-len(taps) // self.up)  # inputs one output sees
        padded = np.zeros(self.width * self.up)
        padded[:len(taps)] = taps
        # phase p: the taps for a window of inputs, oldest first
        self.by_phase = np.ascontiguousarray(padded.reshape(self.width, self.up).T[:, ::-1], dtype=np.float32)
        self.window = np.arange(self.width)
        # One sample at a time (a stream that keeps up): which outputs input j completes, and with
        # which taps, repeats every `down` inputs, so each input's taps are one ready matrix.
        self.plan, n = [], 0
        for j in range(self.down):
            phases = []
            while n * self.down // self.up <= j:
                phases.append(n * self.down - j * self.up)
                n += 1
            self.plan.append(self.by_phase[phases])
        self.history = np.zeros((4 * self.width, channels), dtype=np.float32)  # the latest inputs, up to `end`
        # the window that ends at each position, as a ready view (the buffer never moves)
        # a view of the last `width` inputs for each end position (ends below `width` never come)
        self.windows = [self.history[max(end - self.width, 0):end] for end in range(len(self.history) + 1)]
        self.completed_by = [np.zeros(len(taps), dtype=np.int64) for taps in self.plan]
        self.channels = channels
        self.reset(np.zeros(channels, dtype=np.float32))

    def reset(self, first: np.ndarray) -> None:
        self.history[:] = first
        self.end = self.width - 1
        self.inputs = self.outputs = 0

    def push(self, samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if len(samples) == 1:
            return self._push_one(samples[0])
        samples = np.asarray(samples, dtype=np.float32).reshape(-1, self.channels)
        first, self.inputs = self.inputs, self.inputs + len(samples)
        complete = -(-self.inputs * self.up // self.down)  # outputs n with n down // up < inputs
        n = np.arange(self.outputs, complete)
        self.outputs = complete
        newest = n * self.down // self.up  # the input that completes each output
        phase = n * self.down - newest * self.up
        buffer = np.concatenate([self.history[self.end - self.width + 1:self.end], samples])
        self.history[:self.width - 1] = buffer[len(buffer) - self.width + 1:]
        self.end = self.width - 1
        windows = buffer[(newest - first)[:, None] + self.window]  # (k, width, channels)
        return np.matmul(self.by_phase[phase][:, None, :], windows)[:, 0], newest - first

    def _push_one(self, sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One sample: no index arithmetic, the input's ready taps against a ready view."""
        end = self.end
        if end == len(self.history):  # slide the window back to the front, once every 3 w pushes
            self.history[:self.width - 1] = self.history[end - self.width + 1:end]
            end = self.width - 1
        self.history[end] = sample
        self.end = end = end + 1
        j = self.inputs % self.down
        self.inputs += 1
        taps = self.plan[j]
        self.outputs += len(taps)
        return taps.dot(self.windows[end]), self.completed_by[j]  # .dot: a fraction of matmul's call cost here
