"""Labelled 3-axis accelerometer recordings: loading, checking and splitting by subject.

Sources (DESIGN.md section 4): a MATLAB HumanActivity `.mat` file, a CSV file or a folder of
CSV files (`t,ax,ay,az,label`, one subject per file), or the built-in synthetic default.
Labels are class indices; UNLABELED (-1) marks steps kept out of the loss and every metric.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd

from .errors import DataError
from .resample import SAME_RATE, resample, resample_labels
from .units import canonical, infer

UNLABELED = -1
UNLABELED_NAMES = {"", "unlabeled", "unlabelled", "none", "null"}
CSV_COLUMNS = ["t", "ax", "ay", "az", "label"]
GAP_FACTOR = 10  # a time step this many times the median one starts a new recording


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
        rates = sorted({self.rate_of(r) for r in self.recordings if self.rate_of(r)})
        rate = ("mixed rates " + ", ".join(f"{r:g}" for r in rates) + " Hz" if len(rates) > 1
                else f"{rates[0]:g} Hz" if rates else "sample rate unknown")
        steps = sum(len(r) for r in self.recordings)
        return (f"{kind}: {len(self.subjects)} subjects, {len(self.recordings)} recordings, "
                f"{steps} steps ({self.labelled_steps()} labelled), {len(self.classes)} classes, {rate}")


def load_data(path: str | Path | None, sample_rate_hz: float | None = None, seed: int = 0) -> Dataset:
    """Load any supported source; `None` gives the built-in synthetic default."""
    if path is None:
        from .synthetic import synthetic_dataset

        return synthetic_dataset(seed=seed)
    path = Path(path)
    if not path.exists():
        raise DataError(f"{path}: no such file or folder")
    if path.is_dir():
        data = _load_csv_folder(path)
    elif path.suffix.lower() == ".mat":
        data = _load_mat(path)
    elif path.suffix.lower() == ".csv":
        data = _merge([_load_csv(path)], str(path))
    else:
        raise DataError(f"{path}: unknown layout (expected a .mat file, a .csv file or a folder of .csv files)")
    if sample_rate_hz is not None:  # declared for the recordings that do not say
        data.recordings = [replace(r, rate_hz=data.rate_of(r) or sample_rate_hz) for r in data.recordings]
        data.sample_rate_hz = _common_rate(data.recordings)
    return data


def at_rate(data: Dataset, rate_hz: float | None = None) -> tuple[Dataset, list[str]]:
    """Every recording at one rate, `rate_hz` or else the rate of most of the data, converted
    with the anti-aliasing polyphase filter (labels by nearest step); and what was converted."""
    known = [r for r in data.recordings if data.rate_of(r)]
    unknown = [r.subject for r in data.recordings if not data.rate_of(r)]
    if not known and rate_hz is None:
        return data, []
    if unknown:
        target = f"to {rate_hz:g} Hz" if rate_hz else "beside recordings whose rate is known"
        raise DataError(f"{data.source}: no sample rate is known for {', '.join(unknown[:5])}, so it cannot be "
                        f"converted {target}; declare it with --sample-rate HZ (or give each CSV a `t` column in seconds)")
    if rate_hz is None:
        steps: dict[float, int] = {}
        for r in known:
            steps[data.rate_of(r)] = steps.get(data.rate_of(r), 0) + len(r)
        rate_hz = max(steps, key=steps.get)
    recordings, converted = [], {}
    for r in data.recordings:
        source = data.rate_of(r)
        if abs(source / rate_hz - 1) <= SAME_RATE:
            recordings.append(replace(r, rate_hz=rate_hz))
            continue
        x = resample(r.x, source, rate_hz)
        recordings.append(Recording(r.subject, x, resample_labels(r.y, source, rate_hz, len(x)), rate_hz))
        converted[source] = converted.get(source, 0) + 1
    notes = [f"resampled {count} recording(s) from {source:g} Hz to {rate_hz:g} Hz (anti-aliasing polyphase "
             "filter; labels by nearest step)" for source, count in converted.items()]
    return replace(data, recordings=recordings, sample_rate_hz=rate_hz), notes


def _common_rate(recordings: list[Recording]) -> float | None:
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


def _merge(parts: list[tuple[str, list[tuple[np.ndarray, np.ndarray]], float | None]], source: str) -> Dataset:
    """Join per-subject (x, label-name) pieces into one dataset with a shared class list."""
    names = sorted({str(n) for _, pieces, _ in parts for _, labels in pieces for n in labels} - {""})
    index = {n: i for i, n in enumerate(names)}
    recordings = []
    for subject, pieces, rate in parts:
        for x, labels in pieces:
            y = np.array([index.get(str(n), UNLABELED) for n in labels], dtype=np.int64)
            recordings.append(Recording(subject, x.astype(np.float32), y, rate))
    if not names:
        raise DataError(f"{source}: no labelled steps")
    return Dataset(recordings, names, _common_rate(recordings), source)


def _load_csv_folder(folder: Path) -> Dataset:
    files = sorted(folder.glob("*.csv"))
    if not files:
        raise DataError(f"{folder}: no .csv recordings in this folder")
    return _merge([_load_csv(f) for f in files], str(folder))


CSV_SEPARATORS = (",", ";", "\t")  # spreadsheets in many locales write ';', and many tools tabs


def _load_csv(path: Path):
    try:
        separator = _separator(path)
        frame = pd.read_csv(path, sep=separator, dtype=str, keep_default_na=False, skipinitialspace=True,
                            encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: not a readable CSV file ({str(err).splitlines()[0]})") from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in CSV_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(f"{path}: missing column(s) {missing}; expected the header {','.join(CSV_COLUMNS)} "
                        f"(separated by commas, semicolons or tabs), found {frame.columns.tolist()[:8]}")
    if frame.empty:
        raise DataError(f"{path}: no rows")
    values = np.stack([_numeric_column(frame, c, path) for c in CSV_COLUMNS[:4]], axis=1)
    labels = frame["label"].str.strip().to_numpy()
    labels = np.where(np.isin(np.char.lower(labels.astype(str)), list(UNLABELED_NAMES)), "", labels)
    t = values[:, 0]
    dt = np.diff(t)
    typical = float(np.median(dt[dt > 0])) if (dt > 0).any() else None
    cuts = np.flatnonzero((dt <= 0) | (dt > GAP_FACTOR * typical)) + 1 if typical else np.array([], int)
    pieces = [(x, lab) for x, lab in zip(np.split(values[:, 1:], cuts), np.split(labels, cuts)) if len(x)]
    rate = round(1.0 / typical, 3) if typical else None
    return path.stem, pieces, rate


def _separator(path: Path) -> str:
    """The separator that splits the header line into edge-har's columns (a comma where none does)."""
    with open(path, encoding="utf-8-sig", errors="replace") as file:
        header = file.readline()
    for separator in CSV_SEPARATORS:
        if set(CSV_COLUMNS) <= {name.strip().lower() for name in header.split(separator)}:
            return separator
    return ","


def _numeric_column(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    numbers = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if len(bad):
        row = bad[0]
        raise DataError(f"{path}: line {row + 2}, column '{column}': "
                        f"{frame[column].iloc[row]!r} is not a finite number")
    return numbers


def _load_mat(path: Path) -> Dataset:
    import matio

    try:
        content = matio.load_from_mat(str(path))
    except Exception as err:  # the reader raises many kinds on a foreign file
        raise DataError(f"{path}: not a readable MATLAB file ({err})") from None
    for xkey, ykey in (("XTrain", "YTrain"), ("XTest", "YTest")):
        if xkey in content and ykey in content:
            break
    else:
        raise DataError(f"{path}: unknown layout; expected XTrain/YTrain or XTest/YTest, found {sorted(content)}")
    cells_x = np.asarray(content[xkey], dtype=object).ravel()
    cells_y = np.asarray(content[ykey], dtype=object).ravel()
    if len(cells_x) != len(cells_y):
        raise DataError(f"{path}: {len(cells_x)} sequences in {xkey} but {len(cells_y)} in {ykey}")
    prefix = "person" if xkey == "XTrain" else "test"
    parts = []
    for i, (cx, cy) in enumerate(zip(cells_x, cells_y), start=1):
        where = f"{path}: {xkey}{{{i}}}"
        x = _mat_signal(cx, where)
        labels = _mat_labels(cy)
        if len(labels) != len(x):
            raise DataError(f"{where}: {len(x)} samples but {len(labels)} labels")
        parts.append((f"{prefix}{i}", [(x, labels)], None))
    return _merge(parts, str(path))


def _mat_labels(cell) -> np.ndarray:
    """A categorical (decoded by mat-io) or a cell array of label strings, as plain strings."""
    items = np.asarray(cell, dtype=object).ravel()
    labels = np.array([str(np.asarray(v).ravel()[0]) if np.size(v) else "" for v in items], dtype=object)
    return np.where(np.isin(labels, ["nan", "<undefined>"]), "", labels)


def _mat_signal(cell, where: str) -> np.ndarray:
    x = np.asarray(cell, dtype=np.float64)
    if x.ndim != 2 or 3 not in x.shape:
        raise DataError(f"{where}: expected a 3xN signal, got shape {x.shape}")
    x = x.T if x.shape[0] == 3 and x.shape[1] != 3 else x
    bad = np.argwhere(~np.isfinite(x))
    if len(bad):
        raise DataError(f"{where}: non-finite value at sample {bad[0][0] + 1}, axis {bad[0][1] + 1}")
    return x


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
