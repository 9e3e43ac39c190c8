"""Labelled 3-axis accelerometer recordings in memory: a dataset of subjects, its rates and units,
its classes, and the subject-wise splits that every honest figure rests on.

Labels are class indices; UNLABELED (-1) marks steps kept out of the loss and every metric.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..core.config import ModelConfig
from ..core.errors import DataError
from ..core.features import memory_keep, with_memory
from ..core.labels import UNLABELED, delayed_labels
from ..core.resample import SAME_RATE, resample, resample_labels
from ..core.units import canonical, infer


@dataclass
class Recording:
    """One unbroken stream of samples from one subject."""

    subject: str
    x: np.ndarray  # (N, 3) float32, raw sensor units
    y: np.ndarray  # (N,) int64 class indices, UNLABELED where no label
    rate_hz: float | None = None  # None: the dataset's rate

    def __len__(self) -> int:
        return len(self.x)


@dataclass
class Dataset:
    recordings: list[Recording]
    classes: list[str]
    sample_rate_hz: float | None  # the rate every recording has, or None (mixed or unknown)
    source: str
    synthetic: bool = False
    units: str | None = None  # g, m/s2 or counts, where the source says (units.py)

    @property
    def subjects(self) -> list[str]:
        return list(dict.fromkeys(r.subject for r in self.recordings))

    def select(self, subjects: list[str]) -> Dataset:
        wanted = set(subjects)
        unknown = wanted - set(self.subjects)
        if unknown:
            raise DataError(f"unknown subject(s) {sorted(unknown)}; the data has {self.subjects}")
        return replace(self, recordings=[r for r in self.recordings if r.subject in wanted])

    def labelled_steps(self) -> int:
        return int(sum((r.y != UNLABELED).sum() for r in self.recordings))

    def rate_of(self, recording: Recording) -> float | None:
        return recording.rate_hz or self.sample_rate_hz

    def describe(self) -> str:
        kind = "SYNTHETIC built-in data" if self.synthetic else self.source
        rates = sorted({rate for r in self.recordings if (rate := self.rate_of(r))})
        rate_text = ("mixed rates " + ", ".join(f"{r:g}" for r in rates) + " Hz" if len(rates) > 1
                     else f"{rates[0]:g} Hz" if rates else "sample rate unknown")
        steps = sum(len(r) for r in self.recordings)
        return (f"{kind}: {len(self.subjects)} subjects, {len(self.recordings)} recordings, "
                f"{steps} steps ({self.labelled_steps()} labelled), {len(self.classes)} classes, {rate_text}")


def at_rate(data: Dataset, rate_hz: float | None = None) -> tuple[Dataset, list[str]]:
    """Every recording at one rate, `rate_hz` or else the rate of most of the data, converted
    with the anti-aliasing polyphase filter (labels by nearest step); and what was converted."""
    rates = {id(r): rate for r in data.recordings if (rate := data.rate_of(r))}
    unknown = [r.subject for r in data.recordings if id(r) not in rates]
    if not rates and rate_hz is None:
        return data, []
    if unknown:
        target = f"to {rate_hz:g} Hz" if rate_hz else "beside recordings whose rate is known"
        raise DataError(f"{data.source}: no sample rate is known for {', '.join(unknown[:5])}, so it cannot be "
                        f"converted {target}; declare it with --sample-rate HZ (or give each CSV a `t` column in seconds)")
    if rate_hz is None:
        steps: dict[float, int] = {}
        for r in data.recordings:
            steps[rates[id(r)]] = steps.get(rates[id(r)], 0) + len(r)
        rate_hz = max(steps, key=lambda rate: steps[rate])
    recordings: list[Recording] = []
    converted: dict[float, int] = {}
    for r in data.recordings:
        source = rates[id(r)]
        if abs(source / rate_hz - 1) <= SAME_RATE:
            recordings.append(replace(r, rate_hz=rate_hz))
            continue
        x = resample(r.x, source, rate_hz)
        recordings.append(Recording(r.subject, x, resample_labels(r.y, source, rate_hz, len(x)), rate_hz))
        converted[source] = converted.get(source, 0) + 1
    notes = [f"resampled {count} recording(s) from {source:g} Hz to {rate_hz:g} Hz (anti-aliasing polyphase "
             "filter; labels by nearest step)" for source, count in converted.items()]
    return replace(data, recordings=recordings, sample_rate_hz=rate_hz), notes


def common_rate(recordings: list[Recording]) -> float | None:
    rates = {r.rate_hz for r in recordings}
    return rates.pop() if len(rates) == 1 else None


def units_of(data: Dataset, declared: str | None = None) -> tuple[str, str]:
    """(units, why): as declared, as the source says, or judged from the size of gravity."""
    if declared:
        return canonical(declared), "as given"
    if data.units:
        return data.units, "as the data states"
    return infer(np.concatenate([r.x for r in data.recordings]))


def keep_classes(data: Dataset, names: list[str]) -> Dataset:
    """Keep only the named classes; every other step becomes unlabelled (masked, not a class)."""
    missing = [n for n in names if n not in data.classes]
    if missing:
        raise DataError(f"class(es) {missing} are not in the data; it has {data.classes}")
    remap = np.full(len(data.classes), UNLABELED, dtype=np.int64)
    for new, name in enumerate(names):
        remap[data.classes.index(name)] = new
    recordings = [replace(r, y=np.where(r.y == UNLABELED, UNLABELED, remap[r.y])) for r in data.recordings]
    return replace(data, recordings=recordings, classes=list(names))


def with_label_delay(data: Dataset, steps: int) -> Dataset:
    """Each recording's labels as a model with that label delay is held to them (labels.delayed_labels):
    training, every figure and parity then compare its step t with the step it names."""
    if steps <= 0:
        return data
    return replace(data, recordings=[replace(r, y=delayed_labels(r.y, steps)) for r in data.recordings])


def remembered(data: Dataset, model: ModelConfig) -> Dataset:
    """Each recording with the memory channels the model reads (features.with_memory); as it was
    where the model has no memory."""
    if not model.memory_s:
        return data
    keep = memory_keep(model.memory_s, data.sample_rate_hz or 0.0)
    return replace(data, recordings=[replace(r, x=with_memory(r.x, keep)) for r in data.recordings])


def check_cv(cv: str) -> None:
    """`--cv` as written, before any data is loaded."""
    if cv != "loso" and not (cv.isdigit() and int(cv) >= 2):
        raise DataError(f"--cv must be 'loso' or a number of folds >= 2, not {cv!r}")


def subject_folds(subjects: list[str], cv: str, only: list[str] | None = None) -> list[tuple[int, list[str]]]:
    """Numbered test-subject groups for cross-validation: `loso` or a number of subject-wise folds;
    with `only`, just the folds that hold out one of those subjects (numbers kept)."""
    check_cv(cv)
    if cv == "loso":
        groups = [[s] for s in subjects]
    else:
        k = int(cv)
        if k > len(subjects):
            raise DataError(f"--cv {k} needs at least {k} subjects; the data has {len(subjects)}")
        groups = [list(g) for g in np.array_split(np.array(subjects, dtype=object), k)]
    if len(subjects) < 3:
        raise DataError(f"cross-validation needs at least 3 subjects (test, validation, training); "
                        f"the data has {len(subjects)}")
    numbered = list(enumerate(groups, start=1))
    if only is None:
        return numbered
    unknown = sorted(set(only) - set(subjects))
    if unknown:
        raise DataError(f"--cv-folds names unknown subject(s) {unknown}; the data has {subjects}")
    return [(number, group) for number, group in numbered if set(group) & set(only)]


HELD_BACK = "held-back"  # the name suffix of a lone person's validation time


def held_back_time(data: Dataset, share: float) -> Dataset:
    """One person's data as two pseudo-subjects: the first `1 - share` of every stretch of one
    label (an activity, or an unlabelled spell) is `person`, the rest `person:held-back`, so
    that validation sees every activity, in minutes training never saw."""
    (person,) = data.subjects
    kept, held = [], []
    for rec in data.recordings:
        starts = np.flatnonzero(np.diff(rec.y, prepend=rec.y[0] - 1))
        for start, end in zip(starts, [*starts[1:], len(rec)]):
            cut = start + int(round((end - start) * (1 - share)))
            kept.append(replace(rec, x=rec.x[start:cut], y=rec.y[start:cut]))
            held.append(replace(rec, subject=f"{person}:{HELD_BACK}", x=rec.x[cut:end], y=rec.y[cut:end]))
    return replace(data, recordings=[r for r in kept + held if len(r)])
