"""`stream` end to end through a real pseudo-terminal, against the emulated board."""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from edge_har.data.loading import load_data
from edge_har.device.emulator import EmulatorOptions, Faults, emulate
from edge_har.eval.parity import ParityOptions, parity
from edge_har.model.torch_backends import pytorch_reference
from edge_har.runtime.engines import RollingBuffer
from edge_har.runtime.stream import StreamOptions, stream

from .conftest import emulator_done, label_delay, signalled_child
from .conftest import play as _play
from .test_cli import edge_har

QUIET = Console(quiet=True)


def test_rolling_buffer_keeps_the_last_r_samples():
    buffer = RollingBuffer(4, 1)
    buffer.reset(np.array([7.0]))
    assert buffer.window().ravel().tolist() == [7, 7, 7, 7]
    for value in range(1, 7):
        buffer.push(np.array([float(value)]))
    assert buffer.window().ravel().tolist() == [3, 4, 5, 6]


def test_stream_equals_offline_parity(exported, tmp_path):
    data = load_data(None).select(["sim6"])
    link = tmp_path / "tty"
    thread, result = _play(EmulatorOptions(data, link, fmt="text", speed=0), link)
    summary = stream(StreamOptions(str(link), exported, engine="rolling", duration=120, live=False, log=tmp_path / "steps.csv",
                                   summary=tmp_path / "summary.json"), QUIET, stop=emulator_done(result))
    thread.join(5)
    steps = len(data.recordings[0])
    assert summary["samples"] == steps and summary["labelled"] == steps - label_delay(exported)
    assert summary["lost_samples"] == summary["bad_frames"] == summary["resets"] == 0
    offline = parity(ParityOptions(exported, reference=pytorch_reference,
                                   subjects=["sim6"], tflm_steps=10, min_agreement=0, max_drop=1,
                                   out=tmp_path))
    litert = offline["backends"]["litert_int8"]
    assert summary["int8_accuracy"] == pytest.approx(litert["accuracy"], abs=1e-12)
    assert summary["fp32_accuracy"] == pytest.approx(offline["backends"]["onnx_fp32"]["accuracy"], abs=1e-12)
    assert abs(summary["int8_fp32_agreement"] - litert["agreement_with_fp32"]) <= 1 / steps
    assert (tmp_path / "steps.csv").read_text().count("\n") == steps + 1
    # the export's causal filter, live, after each engine: the same classes as offline
    assert summary["decoding"] == offline["decoding"] == "forward"
    assert summary["decoded_int8_accuracy"] == pytest.approx(litert["decoded"]["accuracy"], abs=1e-12)
    assert summary["decoded_fp32_accuracy"] == pytest.approx(offline["backends"]["onnx_fp32"]["decoded"]["accuracy"],
                                                             abs=1e-12)


def test_step_engine_stream_equals_offline_step_parity(exported, tmp_path):
    data = load_data(None).select(["sim6"])
    link = tmp_path / "tty"
    thread, result = _play(EmulatorOptions(data, link, fmt="text", speed=0), link)
    summary = stream(StreamOptions(str(link), exported, engine="step", duration=120, live=False,
                                   summary=tmp_path / "summary.json"), QUIET, stop=emulator_done(result))
    thread.join(5)
    assert summary["engine"] == "step" and summary["samples"] == len(data.recordings[0])
    offline = parity(ParityOptions(exported, reference=pytorch_reference,
                                   subjects=["sim6"], engine="step", min_agreement=0, max_drop=1,
                                   out=tmp_path))
    assert summary["int8_accuracy"] == pytest.approx(offline["backends"]["litert_int8"]["accuracy"], abs=1e-12)
    assert summary["fp32_accuracy"] == pytest.approx(offline["backends"]["onnx_fp32"]["accuracy"], abs=1e-12)


def test_faults_are_counted_and_survived(exported, tmp_path):
    data = load_data(None).select(["sim5"])
    link = tmp_path / "tty"
    faults = Faults(drop_frames=0.01, corrupt_bytes=0.01, reset_at=[4000], disconnect_at=[8000], seed=3)
    options = EmulatorOptions(data, link, speed=0, faults=faults, reconnect_after_s=0.3)
    thread, result = _play(options, link)
    summary = stream(StreamOptions(str(link), exported, duration=120, live=False), QUIET, stop=emulator_done(result))
    thread.join(5)
    report = result["report"]
    assert report.dropped > 50 and report.corrupted_frames > 500 and report.disconnects == 1 and report.lost_offline > 0
    assert summary["resets"] == 1 and summary["reconnects"] >= 1
    intact = sum(fate == "sent" for fate, _ in report.fates)
    assert summary["samples"] == intact  # every intact frame came through: back in sync after each fault
    assert summary["bad_frames"] > 0  # (a hit on a sync byte is skipped without a CRC check)
    assert summary["lost_samples"] == _detectable_losses(report.fates)


def test_a_slow_reader_gets_every_frame_sent_across_a_pulled_cable(tmp_path):
    """Before it pulls the cable, and before it ends, the emulator waits for the reader to take
    what was sent, however long that takes, as long as the reader keeps reading. The reader here
    is slow on purpose: 20 frames per read, a pause between reads."""
    from serial import SerialException

    from edge_har.link.frames import FrameDecoder
    from edge_har.link.port import open_port, reopen

    data = load_data(None).select(["sim1"])
    data.recordings[0].x, data.recordings[0].y = data.recordings[0].x[:4000], data.recordings[0].y[:4000]
    link = tmp_path / "tty"
    options = EmulatorOptions(data, link, speed=0, faults=Faults(disconnect_at=[2500]), reconnect_after_s=0.2,
                              linger_s=0.5)
    thread, result = _play(options, link)
    decoder, seqs, port = FrameDecoder(), [], open_port(str(link), 115200)
    deadline = time.monotonic() + 120
    while not ("report" in result and len(seqs) >= result["report"].count("sent")):
        assert time.monotonic() < deadline, f"{len(seqs)} frames arrived"
        try:
            chunk = port.read(20 * 12)
        except (SerialException, OSError):  # the cable is out
            port.close()
            port = reopen(str(link), 115200, 30, lambda: False)
            continue
        seqs += [item.seq for item in decoder.feed(chunk) if hasattr(item, "seq")]
        time.sleep(0.01)
    port.close()
    thread.join(10)
    report = result["report"]
    assert report.disconnects == 1 and report.lost_offline > 0
    assert len(seqs) == report.count("sent") == len(data.recordings[0]) - report.lost_offline
    assert seqs == [i for i, (fate, _) in enumerate(report.fates) if fate == "sent"]


def _detectable_losses(fates: list[tuple[str, int]]) -> int:
    """Lost samples a receiver can see: those followed by a received sample before the next reboot."""
    count, pending, stream_id = 0, 0, 0
    for fate, stream_of in fates:
        if stream_of != stream_id:
            pending, stream_id = 0, stream_of
        if fate == "sent":
            count, pending = count + pending, 0
        else:
            pending += 1
    return count


def test_missing_port_and_bad_model(exported, tmp_path):
    result = edge_har("stream", "--port", str(tmp_path / "ttyUSB9"), "--model", str(exported))
    assert result.returncode == 2 and "no such port" in result.stderr and "Traceback" not in result.stderr
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "model.pt").write_bytes((exported / "model.pt").read_bytes())
    result = edge_har("stream", "--port", "/dev/null", "--model", str(bare))
    assert result.returncode == 2 and "no export" in result.stderr


def test_wrong_channel_count_is_refused(exported, tmp_path):
    import os
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)

    def board():  # six values per line (accelerometer and gyroscope), after the host has opened the port
        for _ in range(40):
            time.sleep(0.1)
            os.write(master, b"1,2,3,4,5,6\n" * 5)

    writer = threading.Thread(target=board, daemon=True)
    writer.start()
    result = edge_har("stream", "--port", os.ttyname(slave), "--model", str(exported), "--duration", "8")
    writer.join()
    os.close(master)
    os.close(slave)
    assert result.returncode == 2 and "6 values per line" in result.stderr


def test_record_writes_a_trainable_csv(tmp_path):
    data = load_data(None).select(["sim1"])
    data.recordings[0].x = data.recordings[0].x[:300]
    data.recordings[0].y = data.recordings[0].y[:300]
    link = tmp_path / "tty"
    thread, result = _play(EmulatorOptions(data, link, speed=0, labels=False), link)
    from edge_har.link.record import record

    label = 'Walk,ing "fast"'  # a separator and quotes: written quoted, read back as it was
    rows = record(str(link), label, tmp_path / "me.csv", duration=3)
    thread.join(5)
    assert rows == 300
    recorded = load_data(tmp_path / "me.csv")
    assert recorded.classes == [label] and len(recorded.recordings[0]) == 300
    assert recorded.sample_rate_hz == pytest.approx(50.0)
    np.testing.assert_allclose(recorded.recordings[0].x, data.recordings[0].x, atol=2e-3)


def test_ctrl_c_ends_cleanly_with_the_summary_written(exported, tmp_path):
    import json
    import signal
    import subprocess

    from .test_cli import EDGE_HAR

    data = load_data(None).select(["sim2"])
    link = tmp_path / "tty"
    thread, _ = _play(EmulatorOptions(data, link, speed=1, linger_s=1), link)
    summary_path, log_path = tmp_path / "summary.json", tmp_path / "steps.csv"
    process = signalled_child([EDGE_HAR, "stream", "--port", str(link), "--model", str(exported),
                               "--summary", str(summary_path), "--log", str(log_path)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_logged_steps(log_path, 30, process)  # a busy machine can take many seconds to import torch
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    assert "Traceback" not in out + err and "Stream summary" in out
    summary = json.loads(summary_path.read_text())
    assert summary["samples"] > 20 and summary["lost_samples"] == 0


def _wait_for_logged_steps(log: Path, steps: int, process, timeout_s: float = 1200) -> None:
    deadline = time.monotonic() + timeout_s
    while not (log.exists() and len(log.read_text().splitlines()) > steps):
        assert process.poll() is None, "the stream ended before it logged any steps"
        assert time.monotonic() < deadline, f"no {steps} steps logged in {timeout_s} s"
        time.sleep(0.2)


def test_emulator_ends_when_the_reader_leaves_for_good(exported, tmp_path):
    data = load_data(None).select(["sim3"])
    link = tmp_path / "tty"
    ready, result = threading.Event(), {}
    options = EmulatorOptions(data, link, speed=2, linger_s=0.5)
    board = threading.Thread(target=lambda: result.update(report=emulate(options, ready=lambda name: ready.set())))
    board.start()
    assert ready.wait(600)
    log = tmp_path / "steps.csv"
    # Leave after 50 steps, however long a busy machine takes to deliver them.
    summary = stream(StreamOptions(str(link), exported, duration=120, live=False, compare_fp32=False, log=log),
                     QUIET, stop=lambda: log.exists() and log.read_text().count("\n") > 50)
    board.join(30)
    assert not board.is_alive() and result["report"].reader_left
    assert 50 <= summary["samples"] <= result["report"].sent < len(data.recordings[0])
    assert not link.exists()  # the port went away with the emulator, as a board's device node does


def test_a_board_behind_a_tcp_serial_server_streams_through_a_pyserial_url(exported, tmp_path):
    """A Wi-Fi serial bridge or a serial server prints a board's lines over TCP (loopback here), from
    before the host connects until it leaves; like a serial port, pyserial's socket drops what
    arrived before it finished opening, so the board sends no info the host must see."""
    run = tmp_path / "run"
    shutil.copytree(exported, run)
    report = run / "export" / "export.json"
    report.write_text(json.dumps({**json.loads(report.read_text()), "synthetic_data": False}))  # a board's readings
    data = load_data(None).select(["sim6"])
    recording = data.recordings[0]
    lines = b"".join(b"%.5f,%.5f,%.5f,%s\n" % (*x, data.classes[y].encode())
                     for x, y in zip(recording.x[:200], recording.y[:200]))
    server, streamed = socket.create_server(("127.0.0.1", 0)), threading.Event()

    def bridge():
        connection, _ = server.accept()
        with connection, contextlib.suppress(OSError):  # OSError: the host has left
            while not streamed.is_set():
                connection.sendall(lines)

    thread = threading.Thread(target=bridge, daemon=True)
    thread.start()
    url = f"socket://127.0.0.1:{server.getsockname()[1]}"
    try:
        summary = stream(StreamOptions(url, run, live=False, max_samples=600, summary=tmp_path / "s.json"), QUIET)
    finally:
        streamed.set()
        server.close()
    assert summary["port"] == url and summary["format"] == "text"
    assert summary["samples"] >= 600 and summary["bad_frames"] <= 1  # the first line may be cut by the open
    assert summary["int8_accuracy"] is not None
