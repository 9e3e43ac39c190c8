"""`pip install edge-har` outside any checkout: the built wheel, installed into a fresh venv, builds
the PC firmware, plays a board and streams it, and checks parity of the exported backends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from .conftest import signalled_child
from .test_cli import SUBPROCESS_LIMIT_S

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A venv holding only the wheel; its dependencies come from this environment's site-packages
    (on the path, not installed again), so nothing of the checkout can be imported."""
    where = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w",
                    str(where / "dist"), str(ROOT)], check=True, timeout=SUBPROCESS_LIMIT_S)
    (wheel,) = (where / "dist").glob("edge_har-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where / "venv")], check=True)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(where / "venv" / "bin" / "python"), "install",
                    "--no-deps", "-q", str(wheel)], check=True, timeout=SUBPROCESS_LIMIT_S)
    env = {**os.environ, "PYTHONPATH": sysconfig.get_paths()["purelib"]}
    return {"bin": where / "venv" / "bin", "env": env, "cwd": where}


def run(installed: dict, *args: str, **popen) -> subprocess.CompletedProcess:
    return subprocess.run([str(installed["bin"] / "edge-har"), *args], capture_output=True, text=True,
                          env=installed["env"], cwd=installed["cwd"], timeout=SUBPROCESS_LIMIT_S, **popen)


def test_the_wheels_edge_har_is_not_the_checkouts(installed):
    probe = subprocess.run([str(installed["bin"] / "python"), "-c", "import edge_har; print(edge_har.__file__)"],
                           capture_output=True, text=True, env=installed["env"], cwd=installed["cwd"], check=True)
    assert str(ROOT) not in probe.stdout and "site-packages" in probe.stdout


@pytest.mark.skipif(shutil.which("cc") is None and shutil.which("gcc") is None, reason="needs a C compiler (gcc)")
def test_the_installed_wheel_builds_the_pc_firmware(installed, exported, tmp_path):
    result = run(installed, "firmware", str(exported), "--subject", "sim6", "--out", str(tmp_path / "fw"),
                 "--target", "pc")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "fw" / "device_pc").stat().st_size > 0


def test_the_installed_wheel_emulates_streams_and_checks_parity(installed, exported, tmp_path):
    link = tmp_path / "tty"
    board = signalled_child([str(installed["bin"] / "edge-har"), "emulate", "--subjects", "sim6", "--speed", "0",
                             "--linger", "1", "--link", str(link)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=installed["env"], cwd=installed["cwd"])
    assert board.stdout.readline().strip() == str(link)
    streamed = run(installed, "stream", "--port", str(link), "--model", str(exported), "--samples", "500",
                   "--summary", str(tmp_path / "s.json"))
    board.terminate()
    board.communicate(timeout=SUBPROCESS_LIMIT_S)
    assert streamed.returncode == 0, streamed.stderr
    assert json.loads((tmp_path / "s.json").read_text())["samples"] >= 500
    checked = run(installed, "parity", str(exported), "--subjects", "sim6", "--tflm-steps", "20", "--min-agreement",
                  "0", "--max-drop", "100", "--out", str(tmp_path))
    assert checked.returncode == 0, checked.stderr
    assert json.loads((tmp_path / "parity.json").read_text())["backends"]["tflm_int8"]["steps_evaluated"] == 20
