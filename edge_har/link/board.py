"""What a board sends, as the model takes it: counts to units, the board's units to the model's,
and the board's sample rate to the model's, on a live stream.

The offline paths (train, parity, emulate) convert recordings with `data.at_rate` and
`units.factor`; this is the same conversion, one sample at a time: the causal resampler of
resample.py, whose state lives across samples, lost samples (held readings go through it) and
reboots (a new stream starts it again). Each model-rate step carries the label of the board
sample nearest the time it stands for, so the resampler's delay costs no accuracy against labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.resample import SAME_RATE, StreamResampler
from ..core.units import UNIT_NAMES, canonical, factor


@dataclass
class Step:
    """One sample at the model's rate: its values, its label (or None), the time it stands for
    (seconds from the start of the stream; None when no rate is known) and the board sample
    (its index in the stream) that completed it."""

    values: np.ndarray
    label: int | str | None
    t: float | None
    sample: int


class BoardInput:
    def __init__(self, model_rate_hz: float | None, model_units: str | None, rate_hz: float | None = None,
                 units: str | None = None, scale: float | None = None):
        """`rate_hz`, `units` and `scale` describe the board until it declares its own; a board
        of unknown rate or units is taken to run at the model's, in the model's."""
        self.model_rate_hz, self.model_units = model_rate_hz, model_units
        self.rate_declared = rate_hz is not None
        self.rate_hz, self.scale = rate_hz or model_rate_hz, scale or 1.0
        self.units = model_units
        self.unit_factor = 1.0
        if units:
            self.declare_units(units)
        self.converter: StreamResampler | None = None
        self.labels: list = []  # the labels of recent board samples, from board sample `labels_from` on
        self.labels_from = self.inputs = self.outputs = 0

    def declare(self, fields: dict[str, str]) -> list[str]:
        """What an info frame or `# key=value` line says about the board; returns what it could
        not use (a damaged declaration is ignored and reported, like a bad frame)."""
        unusable: list[str] = []
        scale = _number(fields, "scale", lambda v: v != 0 and abs(v) < MAX_SCALE, unusable)
        rate = _number(fields, "rate_hz", lambda v: MIN_RATE_HZ <= v <= MAX_RATE_HZ, unusable)
        if scale is not None:
            self.scale = scale
        if rate is not None:
            self.rate_hz, self.rate_declared = rate, True
        if "units" in fields:
            if fields["units"].strip().lower() in UNIT_NAMES:
                self.declare_units(fields["units"])  # known units that do not convert are refused
            else:
                unusable.append(f"units={fields['units']!r}")
        return unusable

    def declare_units(self, units: str) -> None:
        self.units = canonical(units)
        if self.model_units is not None:
            self.unit_factor = factor(self.units, self.model_units)

    def reading(self, xyz) -> np.ndarray | None:
        """A board reading in the model's units; None where a value is not a finite float32 there."""
        with np.errstate(over="ignore", invalid="ignore"):
            reading = np.asarray(xyz, dtype=np.float64) * (self.scale * self.unit_factor)
            reading = reading.astype(np.float32)
        return reading if np.isfinite(reading).all() else None

    @property
    def converting(self) -> bool:
        return bool(self.rate_hz and self.model_rate_hz and abs(self.rate_hz / self.model_rate_hz - 1) > SAME_RATE)

    def start(self, first: np.ndarray) -> None:
        """A new stream begins with `first` (a reading in model units)."""
        self.inputs = self.outputs = self.labels_from = 0
        self.labels = []
        self.converter = None
        if self.converting and self.rate_hz and self.model_rate_hz:
            self.converter = StreamResampler(self.rate_hz, self.model_rate_hz, len(first))
            self.converter.reset(first)

    def steps(self, readings: np.ndarray, labels: list) -> list[Step]:
        """The model-rate steps that these board samples, (n, 3) in model units, complete."""
        first = self.inputs
        self.inputs += len(readings)
        if self.converter is None:
            period = 1 / self.rate_hz if self.rate_hz else None
            return [Step(values, label, None if period is None else (first + i) * period, first + i)
                    for i, (values, label) in enumerate(zip(readings, labels))]
        converter, rate, model_rate = self.converter, self.rate_hz, self.model_rate_hz
        assert rate and model_rate, "a converter runs between two known rates (start)"
        self.labels.extend(labels)
        outputs, completed_by = converter.push(readings)
        steps = []
        for values, by in zip(outputs, completed_by.tolist()):
            t = self.outputs / model_rate - converter.delay_s  # the time this output stands for
            steps.append(Step(values, self._label_at(t, rate), t, first + by))
            self.outputs += 1
        self._forget_old_labels(converter.delay_s * rate)
        return steps

    def _label_at(self, t: float, rate: float):
        """The label of the board sample nearest time t, among those kept."""
        index = min(max(round(t * rate), 0), self.inputs - 1) - self.labels_from
        return self.labels[index] if 0 <= index < len(self.labels) else None

    def _forget_old_labels(self, delay_samples: float) -> None:
        """Keep the labels the filter's delay reaches back to (and a little more)."""
        excess = len(self.labels) - (int(np.ceil(delay_samples)) + 2)
        if excess > 0:
            del self.labels[:excess]
            self.labels_from += excess

    def about(self) -> dict:
        """What the summary says about the conversion."""
        return {"board_rate_hz": self.rate_hz, "model_rate_hz": self.model_rate_hz, "board_units": self.units,
                "model_units": self.model_units, "scale": self.scale,
                "rate_conversion": (f"{self.rate_hz:g} Hz to {self.model_rate_hz:g} Hz, delay "
                                    f"{self.converter.delay_s:.3f} s") if self.converter else None}


MIN_RATE_HZ, MAX_RATE_HZ = 0.5, 20_000.0  # what a declared rate may be: accelerometers span about 1 Hz to 7 kHz
MAX_SCALE = 1e12  # units per count beyond this are damage, not a board


def _number(fields: dict[str, str], key: str, plausible, unusable: list[str]) -> float | None:
    """`fields[key]` as a finite, plausible number; None (and a note in `unusable`) otherwise."""
    if key not in fields:
        return None
    try:
        value = float(fields[key])
    except ValueError:
        value = float("nan")
    if np.isfinite(value) and plausible(value):
        return value
    unusable.append(f"{key}={fields[key]!r}")
    return None


class ArrivalRate:
    """A board's rate judged from when its samples arrive, for boards that declare none.

    Links deliver samples in bursts (USB packets, OS buffers), so a rate from the first second
    is off by a burst, and at low rates by a large share: the first burst is not counted, and
    the estimate waits for SETTLE_S seconds and MIN_SAMPLES samples after it."""

    SETTLE_S = 3.0
    MIN_SAMPLES = 20

    def __init__(self):
        self.first: float | None = None
        self.last = 0.0
        self.counted = 0
        self.estimate: float | None = None

    def observe(self, now: float, samples: int) -> float | None:
        """Note `samples` arriving at `now`; the estimate, once there is one."""
        if samples and self.estimate is None:
            if self.first is None:
                self.first = now
            else:
                self.counted, self.last = self.counted + samples, now
                if self.last - self.first >= self.SETTLE_S and self.counted >= self.MIN_SAMPLES:
                    self.estimate = self.counted / (self.last - self.first)
        return self.estimate
