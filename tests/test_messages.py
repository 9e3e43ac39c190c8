"""Messages are true: user text is printed as given (never read as markup or emoji codes), and the
help says what the source says."""

from __future__ import annotations

import pytest

from .test_cli import _assert_clean_failure, edge_har

ODD = ":-1:[red][train]"  # an emoji code and two things rich would take for markup


def test_a_data_spec_is_printed_as_given():
    _assert_clean_failure(edge_har("train", "--data", "synthetic:-1"), "synthetic:-1: at least 2 people")


def test_odd_names_in_paths_are_printed_as_given(exported, tmp_path):
    missing = tmp_path / f"{ODD}.csv"
    _assert_clean_failure(edge_har("train", "--data", str(missing)), f"{missing}: no such file or folder")
    out = tmp_path / f"cal{ODD}.npz"
    result = edge_har("calibrate", str(exported), "--out", str(out), "--data", "synthetic:3:60", "--per-class", "2")
    assert result.returncode == 0, result.stderr
    assert str(out) in result.stdout.replace("\n", "")  # rich breaks long lines where a space was, or mid-path
    assert "--data synthetic:3:60: the built-in SYNTHETIC dataset" in " ".join(result.stdout.split())  # not "No --data given"


@pytest.mark.parametrize("command", ["train", "parity"])
def test_help_names_the_ray_install_as_the_source_does(command):
    assert "edge-har[ray]" in edge_har(command, "--help").stdout.replace("\n", "")
