"""tools/gpu_check.sh, its CPU half: what a session lent a GPU runs, proved here first so that its
minutes go to measuring (make test-slow)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from .conftest import shared_path
from .test_cli import SUBPROCESS_LIMIT_S

SCRIPT = Path(__file__).resolve().parents[1] / "tools" / "gpu_check.sh"


@pytest.mark.slow
def test_the_gpu_check_runs_its_cpu_half():
    data = shared_path("hapt-dev")
    done = subprocess.run(["bash", str(SCRIPT)], capture_output=True, text=True, timeout=SUBPROCESS_LIMIT_S,
                          env={**os.environ, "EPOCHS": "1", "DATA": str(data)})
    assert done.returncode == 0, done.stderr[-2000:]
    assert "GPU: none (the CPU half only)" in done.stdout
    assert "| cpu | 2-D |" in done.stdout and "matmul GFLOP/s" in done.stdout
    assert "2-fold CV on cpu:" in done.stdout and "mean accuracy 0." in done.stdout
