"""The host install: what runs an exported model (stream, emulate, record, parity of the exported
backends) works with the training stack absent. Each command runs in a real subprocess in which
importing torch, the converters or JAX fails, as it does where only `pip install edge-har` ran."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from edge_har.data.loading import load_data
from edge_har.export.converter_adapters import converter_problems
from edge_har.runtime.adapters import problems

TRAINING_ONLY = ("torch", "torchao", "litert_torch", "jax", "jaxlib", "onnx", "onnxscript")
HOST = f"""
import sys
for name in {TRAINING_ONLY!r}:
    sys.modules[name] = None  # `import name` now raises ImportError, as on the host install
from edge_har.cli import app
try:
    app(sys.argv[1:], prog_name="edge-har")
finally:
    loaded = sorted({{m.split(".")[0] for m, v in sys.modules.items() if v is not None}} & set({TRAINING_ONLY!r}))
    print("training modules loaded:", loaded, file=sys.stderr)
"""


def host(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", HOST, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, **popen)


def finished(process: subprocess.Popen, timeout: float = 1800) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    assert "Traceback" not in err, err
    assert "training modules loaded: []" in err, err
    return process.returncode, out, err


def test_parity_of_the_exported_backends_needs_no_torch(exported, tmp_path):
    code, out, err = finished(host("parity", str(exported), "--subjects", "sim6", "--tflm-steps", "50",
                                   "--min-agreement", "0", "--max-drop", "100", "--out", str(tmp_path)))
    assert code == 0, err
    report = json.loads((tmp_path / "parity.json").read_text())
    assert report["reference"] == "onnx_fp32" and "pytorch_fp32" not in report["backends"]
    for name in ("onnx_int8", "litert_int8", "tflm_int8"):
        assert 0.9 <= report["backends"][name]["agreement_with_fp32"] <= 1.0
    assert "onnx_fp32 is the fp32 reference" in out
    assert "`pip install 'edge-har[train]'` adds the PyTorch one" in " ".join(out.split())  # not eaten as markup


def test_emulate_stream_and_record_need_no_torch(exported, tmp_path):
    link = tmp_path / "tty"
    board = host("emulate", "--subjects", "sim6", "--speed", "0", "--linger", "1", "--link", str(link))
    _wait_for(link)
    summary = tmp_path / "summary.json"
    samples = sum(len(r) for r in load_data(None).select(["sim6"]).recordings)  # the stream stops at them, not on a clock
    code, out, err = finished(host("stream", "--port", str(link), "--model", str(exported), "--samples", str(samples),
                                   "--summary", str(summary)))
    assert code == 0, err
    streamed = json.loads(summary.read_text())
    assert streamed["samples"] == samples and streamed["lost_samples"] == 0 and streamed["int8_fp32_agreement"] > 0.9
    assert finished(board)[0] == 0
    board = host("emulate", "--subjects", "sim1", "--speed", "0", "--linger", "1", "--link", str(link))
    _wait_for(link)
    code, out, err = finished(host("record", "--port", str(link), "--label", "Walking", "--duration", "3",
                                   "--out", str(tmp_path / "me.csv")))
    assert code == 0, err
    assert (tmp_path / "me.csv").read_text().startswith("t,ax,ay,az,label\n")
    finished(board)


def test_help_and_training_commands_on_the_host_install(exported):
    code, out, _ = finished(host("stream", "--help"))
    assert code == 0 and "--port" in out
    for command in (["train"], ["export", str(exported), "--int8"]):
        code, _, err = finished(host(*command))
        lines = [line for line in err.splitlines() if line.strip() and not line.startswith("training modules")]
        assert code == 2 and len(lines) == 1 and "pip install 'edge-har[train]'" in lines[0], err


def test_private_runtime_apis_are_where_edge_har_expects_them(exported):
    found = problems(exported / "export" / "step_int8.tflite") + converter_problems()
    assert not found, ("a runtime or converter changed a private API that edge_har/adapters.py relies on; "
                       "adapt the adapter, then move the version cap in pyproject.toml: " + "; ".join(found))


def _wait_for(path: Path, timeout_s: float = 1200) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.1)
