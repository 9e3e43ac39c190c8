"""metrics.json and export.json: one writer and one reader each, a format_version, older formats
migrated in one place, and a damaged run file named in one line with the fix."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from edge_har.core.errors import UserError
from edge_har.core.export_report import Decoding, ExportReport
from edge_har.core.metrics_report import MetricsReport
from edge_har.core.reports import VERSIONS, read_report, write_report
from edge_har.export.exporter import ExportOptions, export

from .conftest import run_copy

EXPORT_V1 = {"receptive_field": 121, "classes": ["a", "b"], "sample_rate_hz": 50.0, "input_shape": [1, 121, 3]}


def test_the_writer_stamps_the_version_and_the_reader_reads_it_back(tmp_path):
    report = ExportReport(**EXPORT_V1, synthetic_data=False, input_units="g", decoding=Decoding(method="none"))
    write_report(tmp_path / "export.json", report)
    written = json.loads((tmp_path / "export.json").read_text())
    assert written["format_version"] == VERSIONS[ExportReport]
    assert "gate" not in written and "step" not in written  # parts an export lacks are left out, not null
    assert written["sample_rate_hz"] == 50.0 and written["decoding"] == {"method": "none"}
    back = read_report(tmp_path / "export.json", ExportReport, "fix")
    assert back == report.model_copy(update={"format_version": VERSIONS[ExportReport]})


def test_the_reports_of_the_runs_here_read_back_as_written(exported):
    metrics = json.loads((exported / "metrics.json").read_text())
    assert read_report(exported / "metrics.json", MetricsReport, "fix").model_dump() == metrics
    report = json.loads((exported / "export" / "export.json").read_text())
    assert read_report(exported / "export" / "export.json", ExportReport, "fix").model_dump() == report


def test_a_metrics_report_without_a_contract_field_cannot_be_made():
    with pytest.raises(ValueError, match="params"):
        MetricsReport(receptive_field=1, classes=[], sample_rate_hz=None)  # type: ignore[call-arg]


def test_an_export_from_before_the_version_is_migrated(tmp_path):
    (tmp_path / "export.json").write_text(json.dumps({**EXPORT_V1, "input_units": "furlongs"}))
    report = read_report(tmp_path / "export.json", ExportReport, "fix")
    assert report.format_version == VERSIONS[ExportReport]
    assert report.synthetic_data is None and report.input_units is None and report.decoding == Decoding(method="none")


@pytest.mark.parametrize("content, problem", [
    ({**EXPORT_V1, "format_version": 99}, "newer than this edge-har reads"),
    ({**EXPORT_V1, "receptive_field": "121"}, "no receptive_field, or of the wrong type"),
    ({**EXPORT_V1, "receptive_field": True}, "no receptive_field, or of the wrong type"),
    ({"classes": ["a"]}, "no receptive_field, sample_rate_hz, input_shape, or of the wrong type"),
    ({**EXPORT_V1, "step": {"state_shapes": [[1, 2]], "state_values": "many"}},
     "no step.state_values, step.checked_windows, step.onnx_fp32, or of the wrong type"),
    ({**EXPORT_V1, "step": {"state_shapes": [], "state_values": 0, "checked_windows": 1, "onnx_fp32": {},
                            "c_engine": {"cores": {"m4": {"flash_bytes": 1}}}}}, "step.c_engine.bits"),
    ([1, 2], "not a JSON object"),
])
def test_a_report_of_the_wrong_shape_is_one_line(tmp_path, content, problem):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(content))
    with pytest.raises(UserError, match=re.escape(problem)) as refused:
        read_report(path, ExportReport, "fix")
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize("name", ["model.pt", "metrics.json", "calibration.npz", "holdout.npz"])
@pytest.mark.parametrize("keep", [0, 0.1, 0.5, 50_000])
def test_a_run_file_cut_short_is_named_before_any_export_work(exported, tmp_path, name, keep):
    run = run_copy(exported, tmp_path / "run")
    path: Path = run / name
    whole = path.read_bytes()
    path.write_bytes(whole[:int(keep * len(whole)) if keep < 1 else min(keep, len(whole) - 1)])
    with pytest.raises(UserError, match=f"^{re.escape(str(path))}: "):  # one line (the CLI's) naming the file
        export(ExportOptions(run, int8=False))
    assert not (run / "export").exists()
