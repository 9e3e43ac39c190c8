"""Loading labelled recordings: a MATLAB HumanActivity `.mat` file, a CSV file or a folder of CSV
files (`t,ax,ay,az,label`, one subject per file), or the built-in synthetic default
(DESIGN.md section 4)."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from ..core.errors import DataError
from ..core.labels import UNLABELED, UNLABELED_NAMES
from ..core.memory import check_fits
from .dataset import Dataset, Recording, common_rate
from .synthetic import SAMPLE_RATE_HZ as SYNTHETIC_RATE_HZ
from .synthetic import synthetic_dataset

CSV_COLUMNS = ["t", "ax", "ay", "az", "label"]
GAP_FACTOR = 10  # a time step this many times the median one starts a new recording


SYNTHETIC = "synthetic"  # --data synthetic:PEOPLE[:SECONDS]: the synthetic set at any size
BYTES_PER_SAMPLE = 3 * 4 + 8  # a loaded sample: three float32 readings and an int64 label
# A CSV's text takes at least as many bytes as its readings once loaded (about 40 a line against 20
# a sample), and reading one takes up to this many times its size while pandas holds it as text
CSV_PEAK = 8


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
        check_fits(CSV_PEAK * path.stat().st_size, str(path), "Split the recording into several files.")
        data = _merge([_load_csv(path)], str(path))
    else:
        raise DataError(f"{path}: unknown layout (expected a .mat file, a .csv file or a folder of .csv files)")
    if sample_rate_hz is not None:  # declared for the recordings that do not say
        data.recordings = [replace(r, rate_hz=data.rate_of(r) or sample_rate_hz) for r in data.recordings]
        data.sample_rate_hz = common_rate(data.recordings)
    return data


def synthetic_note(spec: str | Path | None) -> str:
    """What a command says when its data is the built-in synthetic set, true to what was asked."""
    if spec is None:
        return "No --data given: using the built-in SYNTHETIC dataset"
    return f"--data {spec}: the built-in SYNTHETIC dataset at that size"


def _sized_synthetic(spec: str, seed: int) -> Dataset:
    fields = spec.split(":")[1:]
    try:
        people, seconds = int(fields[0]), float(fields[1]) if len(fields) > 1 else 240.0
    except (ValueError, IndexError):
        raise DataError(f"{spec}: give synthetic:PEOPLE or synthetic:PEOPLE:SECONDS, e.g. synthetic:200:3600") from None
    if len(fields) > 2 or people < 2 or seconds < 60:
        raise DataError(f"{spec}: at least 2 people of at least 60 s each (synthetic:PEOPLE[:SECONDS])")
    check_fits(people * seconds * SYNTHETIC_RATE_HZ * BYTES_PER_SAMPLE, spec,
               "Ask for fewer people or fewer seconds each (synthetic:PEOPLE:SECONDS).")
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
    """A folder's recordings: each .csv file in it is one person, and each sub-folder is one person
    whose recordings are the .csv files inside it (say, one per activity, as `record` writes them)."""
    people = recordings_by_person(folder)
    files = [path for _, paths in people for path in paths]
    check_fits(sum(p.stat().st_size for p in files) + CSV_PEAK * max(p.stat().st_size for p in files),
               f"{folder} ({len(files)} CSV files)", "Train on fewer people at once (a folder with fewer files).")
    parts = []
    for person, paths in people:
        for path in paths:
            _, pieces, rate = _load_csv(path)
            parts.append((person, pieces, rate))
    return _merge(parts, str(folder))


def recordings_by_person(folder: Path) -> list[tuple[str, list[Path]]]:
    """(person, their CSV files) for a data folder: .csv and .CSV alike, hidden entries skipped,
    sub-folders one level deep (so no link can lead the scan in circles), sub-folders without
    recordings skipped, and a link that leads nowhere named."""
    people: dict[str, list[Path]] = {}
    for entry in sorted(_entries(folder)):
        if entry.is_dir():
            files = sorted(p for p in _entries(entry) if _is_csv(p))
            if files:
                people.setdefault(entry.name, []).extend(files)
        elif _is_csv(entry):
            people.setdefault(entry.stem, []).append(entry)
    if not people:
        raise DataError(f"{folder}: no .csv recordings in this folder or its sub-folders (one file per person, or "
                        "a sub-folder per person holding their files)")
    return list(people.items())


def _entries(folder: Path) -> list[Path]:
    """A folder's visible entries; a .csv link that leads nowhere (a loop, a missing target) is a mistake to name."""
    try:
        entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    except OSError as err:
        raise DataError(f"{folder}: cannot be read ({err.strerror})") from None
    for entry in entries:
        if entry.is_symlink() and not entry.exists() and entry.suffix.lower() == ".csv":
            raise DataError(f"{entry}: a link that leads nowhere (a loop, or its target is gone); remove it or point "
                            "it at a recording")
    return entries


def _is_csv(path: Path) -> bool:
    return path.suffix.lower() == ".csv" and path.is_file()


CSV_SEPARATORS = (",", ";", "\t")  # spreadsheets in many locales write ';', and many tools tabs


def _load_csv(path: Path):
    try:
        separator, names = _header(path)
        frame = pd.read_csv(path, sep=separator, dtype=str, keep_default_na=False, skipinitialspace=True,
                            encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise DataError(f"{path}: not a readable CSV file ({str(err).splitlines()[0]})") from None
    _check_header(names, path)
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
    _check_time(dt, t, path)
    typical = float(np.median(dt[dt > 0])) if (dt > 0).any() else None
    cuts = np.flatnonzero((dt <= 0) | (dt > GAP_FACTOR * typical)) + 1 if typical else np.array([], int)
    pieces = [(x, lab) for x, lab in zip(np.split(values[:, 1:], cuts), np.split(labels, cuts)) if len(x)]
    rate = round(1.0 / typical, 3) if typical else None
    return path.stem, pieces, rate


def _check_header(names: list[str], path: Path) -> None:
    """No two columns that are one once case and spaces are ignored ('ax' and 'AX')."""
    seen: dict[str, str] = {}
    for written in (name.strip() for name in names):
        if written.lower() in seen:
            raise DataError(f"{path}: the header has the column '{written.lower()}' twice ({seen[written.lower()]!r} "
                            f"and {written!r}; case is ignored); rename or remove one of them")
        seen[written.lower()] = written


BACKWARD_SHARE = 0.01  # time may start again (recordings one after another in a file), but not often


def _check_time(dt: np.ndarray, t: np.ndarray, path: Path) -> None:
    """Each line its own moment: a repeated time stamp, or time that runs backwards more than where
    a new recording starts, is a file to mend, not a rate to guess."""
    repeated = np.flatnonzero(dt == 0)
    if len(repeated):
        line = repeated[0] + 3  # the header is line 1, and the repeat is the second of the pair
        raise DataError(f"{path}: line {line} repeats the time of the line before (t = {t[repeated[0]]:g}; {len(repeated)} "
                        "lines in all): each reading needs its own time. Remove lines written twice, or write t with "
                        "more decimals")
    backward = np.flatnonzero(dt < 0)
    if len(backward) > max(1, BACKWARD_SHARE * len(dt)):
        raise DataError(f"{path}: time runs backwards at {len(backward)} of {len(dt)} lines (first at line "
                        f"{backward[0] + 3}); sort the lines by t, or give each recording a file of its own")


def _header(path: Path) -> tuple[str, list[str]]:
    """The separator that splits the header line into edge-har's columns (a comma where none does),
    and the column names as written."""
    with open(path, encoding="utf-8-sig", errors="replace") as file:
        header = file.readline().rstrip("\r\n")
    for separator in CSV_SEPARATORS:
        if set(CSV_COLUMNS) <= {name.strip().lower() for name in header.split(separator)}:
            return separator, header.split(separator)
    return ",", header.split(",")


def _numeric_column(frame: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    numbers = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(numbers))
    if len(bad):
        row = bad[0]
        text = frame[column].iloc[row]
        comma = ("; it has a decimal comma, and edge-har reads a decimal point: save the CSV with '.' as the decimal "
                 "separator (or replace the commas in the numbers by points)") if re.fullmatch(r"[-+]?\d*,\d+", text) else ""
        raise DataError(f"{path}: line {row + 2}, column '{column}': {text!r} is not a finite number{comma}")
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
    if np.asarray(content[xkey]).dtype != object:  # a numeric array: one matrix where a cell array of sequences belongs
        raise DataError(f"{path}: {xkey} is one {'x'.join(map(str, np.shape(content[xkey])))} matrix, not a cell array "
                        f"with one 3xN sequence per person; in MATLAB, save {xkey} = {{X}} and {ykey} = {{Y}} (one cell "
                        "per person)")
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
