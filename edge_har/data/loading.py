"""Loading labelled recordings: a MATLAB HumanActivity `.mat` file, a CSV file or a folder of CSV
files (`t,ax,ay,az,label`, one subject per file), or the built-in synthetic default
(DESIGN.md section 4)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import DataError
from ..core.labels import UNLABELED
from .dataset import Dataset, Recording, common_rate
from .synthetic import synthetic_dataset

UNLABELED_NAMES = {"", "unlabeled", "unlabelled", "none", "null"}
CSV_COLUMNS = ["t", "ax", "ay", "az", "label"]
GAP_FACTOR = 10  # a time step this many times the median one starts a new recording


SYNTHETIC = "synthetic"  # --data synthetic:PEOPLE[:SECONDS]: the synthetic set at any size


def load_data(path: str | Path | None, sample_rate_hz: float | None = None, seed: int = 0) -> Dataset:
    """Load any supported source; `None` gives the built-in synthetic default, and
    `synthetic:PEOPLE[:SECONDS]` the synthetic set with that many people (240 s each by default)."""
    if path is None:
        return synthetic_dataset(seed=seed)
    if isinstance(path, str) and path.startswith(f"{SYNTHETIC}:"):
        return _sized_synthetic(path, seed)
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
        data.sample_rate_hz = common_rate(data.recordings)
    return data


def _sized_synthetic(spec: str, seed: int) -> Dataset:
    fields = spec.split(":")[1:]
    try:
        people, seconds = int(fields[0]), float(fields[1]) if len(fields) > 1 else 240.0
    except (ValueError, IndexError):
        raise DataError(f"{spec}: give synthetic:PEOPLE or synthetic:PEOPLE:SECONDS, e.g. synthetic:200:3600") from None
    if len(fields) > 2 or people < 2 or seconds < 60:
        raise DataError(f"{spec}: at least 2 people of at least 60 s each (synthetic:PEOPLE[:SECONDS])")
    return synthetic_dataset(people, seconds, seed)


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
    return Dataset(recordings, names, common_rate(recordings), source)


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
    parts: list[tuple[str, list[tuple[np.ndarray, np.ndarray]], float | None]] = []
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
