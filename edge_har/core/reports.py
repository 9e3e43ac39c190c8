"""The two JSON reports other tools read: a run's metrics.json and an export's export.json
(DESIGN.md section 4), each written and read here alone.

The writer stamps `format_version` and refuses a report that lacks a field the contract names
(a bug, not a user's mistake). The reader turns a damaged file into one line naming it and the
fix, checks the contract's fields and their types, and migrates an older format in `_migrated`,
the one place that knows old formats: version 1 is every file written before the field existed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .errors import UserError
from .files import write_json


@dataclass(frozen=True)
class ReportKind:
    name: str
    version: int
    contract: dict[str, tuple[type, ...]]  # field: the types its value may have


NUMBER = (int, float)
METRICS = ReportKind("metrics.json", 2, {
    "receptive_field": (int,), "classes": (list,), "sample_rate_hz": (*NUMBER, type(None)), "params": (int,)})
EXPORT = ReportKind("export.json", 2, {
    "receptive_field": (int,), "classes": (list,), "sample_rate_hz": (*NUMBER, type(None)), "input_shape": (list,),
    "synthetic_data": (bool, type(None)), "input_units": (str, type(None)), "decoding": (dict,)})


def write_report(path: Path, content: dict, kind: ReportKind) -> None:
    missing = [key for key in kind.contract if key not in content]
    if missing:
        raise ValueError(f"{kind.name} without {', '.join(missing)}")
    write_json(path, {"format_version": kind.version, **content})


def read_report(path: Path, kind: ReportKind, fix: str) -> dict:
    """The report at `path` in the current format; `fix` says what makes it again."""
    try:
        content = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: missing; {fix}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path}: damaged (not JSON); {fix}") from None
    if not isinstance(content, dict):
        raise UserError(f"{path}: not an edge-har {kind.name} (not a JSON object); {fix}")
    version = content.get("format_version", 1)
    if not isinstance(version, int) or version > kind.version:
        raise UserError(f"{path}: format_version {version!r}, newer than this edge-har reads ({kind.version}); "
                        "upgrade edge-har")
    content = _migrated(content, kind, version)
    wrong = [key for key, types in kind.contract.items() if key not in content or not _fits(content[key], types)]
    if wrong:
        raise UserError(f"{path}: not an edge-har {kind.name} (no {', '.join(wrong)}, or of the wrong type); {fix}")
    return content


def _fits(value: object, types: tuple[type, ...]) -> bool:
    """isinstance, except that a bool is no number here (JSON's true is not a receptive field)."""
    return isinstance(value, types) and (bool in types or not isinstance(value, bool))


def _migrated(content: dict, kind: ReportKind, version: int) -> dict:
    """An older report in the current format."""
    if kind is EXPORT and version < 2:
        # exports made before these fields said nothing of them: unknown units and data, no decoding
        content = {"synthetic_data": None, "decoding": {"method": "none"}, **content}
        if content.get("input_units") not in ("g", "m/s2", "counts"):
            content["input_units"] = None
    return {**content, "format_version": kind.version}
