"""The two JSON reports other tools read: a run's metrics.json and an export's export.json
(DESIGN.md section 4), typed in metrics_report.py and export_report.py, written and read here alone.

The writer stamps `format_version`. The reader turns a damaged file into one line naming it and the
fix, checks every field's type (pydantic, strict), and migrates an older format in `_migrated`, the
one place that knows old formats: version 1 is every file written before the field existed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TypeVar

from pydantic import ValidationError

from .errors import UserError
from .export_report import ExportReport
from .files import write_json
from .metrics_report import MetricsReport

Report = TypeVar("Report", ExportReport, MetricsReport)

FILE_NAMES: dict[type, str] = {MetricsReport: "metrics.json", ExportReport: "export.json"}
VERSIONS: dict[type, int] = {MetricsReport: 2, ExportReport: 2}


def write_report(path: Path, report: ExportReport | MetricsReport) -> None:
    write_json(path, {**report.model_dump(), "format_version": VERSIONS[type(report)]})


def read_report(path: Path, kind: type[Report], fix: str) -> Report:
    """The report at `path` in the current format; `fix` says what makes it again."""
    name, version_now = FILE_NAMES[kind], VERSIONS[kind]
    try:
        content = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: missing; {fix}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"{path}: damaged (not JSON); {fix}") from None
    if not isinstance(content, dict):
        raise UserError(f"{path}: not an edge-har {name} (not a JSON object); {fix}")
    version = content.get("format_version", 1)
    if not isinstance(version, int) or version > version_now:
        raise UserError(f"{path}: format_version {version!r}, newer than this edge-har reads ({version_now}); "
                        "upgrade edge-har")
    try:
        return kind.model_validate({**_migrated(content, kind, version), "format_version": version_now})
    except ValidationError as error:
        wrong = dict.fromkeys(".".join(map(str, e["loc"][:_field_depth(e["loc"])])) for e in error.errors())
        raise UserError(f"{path}: not an edge-har {name} (no {', '.join(wrong)}, or of the wrong type); {fix}") from None


def _field_depth(loc: tuple) -> int:
    """How much of a validation error's location names the field: all of it but the union member
    pydantic adds and what follows (`folds.0.accuracy` stays; `cores.m4.CoreCost.flash_bytes` is `cores.m4`)."""
    for depth, part in enumerate(loc):
        if isinstance(part, str) and part[:1].isupper():
            return depth
    return len(loc)


def _migrated(content: dict, kind: type, version: int) -> dict:
    """An older report in the current format."""
    if kind is ExportReport and version < 2:
        # exports made before these fields said nothing of them: unknown units and data, no decoding
        content = {"synthetic_data": None, "decoding": {"method": "none"}, **content}
        if content.get("input_units") not in ("g", "m/s2", "counts"):
            content["input_units"] = None
    return content
