"""The next board: other sample rates, other units, text lines as boards print them, all through
a real pseudo-terminal into the exported model, and the same conversions offline."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from rich.console import Console

from edge_har.core.errors import DataError, UserError
from edge_har.data.dataset import at_rate
from edge_har.data.loading import load_data
from edge_har.device.emulator import EmulatorOptions, Terminal
from edge_har.link.board import ArrivalRate, BoardInput
from edge_har.runtime.stream import StreamOptions, stream

from .conftest import emulator_done, label_delay, play, write_csv
from .test_cli import _assert_clean_failure, edge_har

QUIET = Console(quiet=True)


def _stream_played(exported, tmp_path, data, **board) -> dict:
    link = tmp_path / "tty"
    player, result = play(EmulatorOptions(data, link, speed=0, **board), link)
    summary = stream(StreamOptions(str(link), exported, live=False, duration=300, summary=tmp_path / "summary.json"),
                     QUIET, stop=emulator_done(result))
    player.join(10)
    return summary


@pytest.fixture(scope="module")
def at_model_rate(exported, tmp_path_factory) -> dict:
    return _stream_played(exported, tmp_path_factory.mktemp("50hz"), load_data(None).select(["sim6"]))


@pytest.mark.parametrize("board_hz", [25, 104])
def test_a_board_at_another_rate_drives_the_model_at_its_own(exported, tmp_path, at_model_rate, board_hz):
    data, notes = at_rate(load_data(None).select(["sim6"]), board_hz)
    assert notes and f"to {board_hz} Hz" in notes[0]
    summary = _stream_played(exported, tmp_path, data)
    assert summary["board_rate_hz"] == board_hz and summary["model_rate_hz"] == 50
    assert summary["rate_conversion"].startswith(f"{board_hz} Hz to 50 Hz")
    assert summary["samples"] == len(data.recordings[0]) and summary["lost_samples"] == 0
    assert abs(summary["steps"] - at_model_rate["steps"]) <= 2
    # The labels line up at every rate: fp32 scores as at the model's own. (int8 moves more: the fixture's
    # model is trained for seconds, and its int8 rounding falls differently on a resampled signal.)
    assert abs(summary["fp32_accuracy"] - at_model_rate["fp32_accuracy"]) <= 0.01
    assert summary["int8_fp32_agreement"] >= at_model_rate["int8_fp32_agreement"] - 0.02


def test_a_board_in_m_s2_drives_a_model_in_g(exported, tmp_path, at_model_rate):
    summary = _stream_played(exported, tmp_path, load_data(None).select(["sim6"]), units="m/s2")
    assert summary["board_units"] == "m/s2" and summary["model_units"] == "g"
    assert abs(summary["int8_accuracy"] - at_model_rate["int8_accuracy"]) <= 0.005


def test_a_board_that_declares_nothing_is_taken_at_the_models_rate_and_units(exported, tmp_path):
    data, _ = at_rate(load_data(None).select(["sim6"]), 104)
    summary = _stream_played(exported, tmp_path, data, units="m/s2", declare=False)
    assert summary["board_rate_hz"] == 50 and summary["board_units"] == "g"
    assert summary["rate_conversion"] is None and summary["steps"] == summary["samples"] == len(data.recordings[0])


def test_a_board_in_counts_is_refused_by_a_model_in_g(exported, tmp_path):
    data = load_data(None).select(["sim6"])
    data.units, data.recordings[0].x = "counts", data.recordings[0].x * 4096  # a 16-bit part at +-8 g, unconverted
    link = tmp_path / "tty"
    player, _ = play(EmulatorOptions(data, link, speed=0, linger_s=1), link)
    result = edge_har("stream", "--port", str(link), "--model", str(exported), "--duration", "120")
    player.join(10)
    _assert_clean_failure(result, "readings in counts do not convert to g")




@pytest.mark.parametrize("name, header, separator, ending", [
    ("comma, CRLF (Serial.println)", b"ax,ay,az,label", b",", b"\r\n"),
    ("tab", b"ax\tay\taz\tlabel", b"\t", b"\n"),
    ("space", b"x y z label", b" ", b"\n"),
    ("space, CRLF, no header", None, b" ", b"\r\n"),
])
def test_text_lines_as_boards_print_them(exported, tmp_path, name, header, separator, ending):
    recording = load_data(None).select(["sim6"]).recordings[0]
    classes = load_data(None).classes
    rows = [separator.join([b"%.5f" % v for v in x] + [classes[y].encode()]) + ending
            for x, y in zip(recording.x[:400], recording.y[:400])]
    terminal = Terminal(None)

    def board():  # prints its lines once the host has opened (and flushed) the port
        terminal.wait_for_reader(lambda: False)
        terminal.write(b"# data=synthetic" + ending + (header + ending if header else b""), lambda: False, 5)
        for i in range(0, len(rows), 50):
            terminal.write(b"".join(rows[i:i + 50]), lambda: False, 5)

    writer = threading.Thread(target=board, daemon=True)
    writer.start()
    summary = stream(StreamOptions(terminal.path, exported, live=False, idle_exit_s=1.5, duration=120,
                                   summary=tmp_path / "s.json"), QUIET)
    writer.join(10)
    terminal.close()
    assert summary["format"] == "text" and summary["bad_frames"] == 0, name
    assert summary["samples"] == 400 and summary["labelled"] == 400 - label_delay(exported)


def test_arrival_rate_is_judged_after_the_first_burst():
    watch = ArrivalRate()
    assert watch.observe(0.0, 64) is None  # a buffer that filled before the port was opened
    t = 0.0
    for _ in range(30):  # then 12.5 Hz, in bursts of 5 samples every 0.4 s
        t += 0.4
        watch.observe(t, 5)
    assert watch.estimate == pytest.approx(12.5, rel=0.02)


def test_board_input_converts_units_and_refuses_what_does_not_convert():
    board = BoardInput(50.0, "g", units="m/s2")
    assert np.allclose(board.reading([0.0, 0.0, 9.80665]), [0, 0, 1])
    with pytest.raises(UserError, match="counts do not convert"):
        BoardInput(50.0, "g").declare({"units": "counts"})


def test_mixed_rates_train_at_one_rate(tmp_path):
    rng = np.random.default_rng(0)
    labels = ["Walking", "Running"] * 300
    write_csv(tmp_path / "a.csv", rng.normal(size=(600, 3)), labels, rate_hz=50)
    write_csv(tmp_path / "b.csv", rng.normal(size=(600, 3)), labels, rate_hz=50)
    write_csv(tmp_path / "c.csv", rng.normal(size=(1200, 3)), labels * 2, rate_hz=100)
    data, notes = at_rate(load_data(tmp_path))
    assert data.sample_rate_hz == 50 and [len(r) for r in data.recordings] == [600, 600, 600]
    assert notes == ["resampled 1 recording(s) from 100 Hz to 50 Hz (anti-aliasing polyphase filter; "
                     "labels by nearest step)"]
    data, _ = at_rate(load_data(tmp_path), 25)
    assert [len(r) for r in data.recordings] == [300, 300, 300] and data.sample_rate_hz == 25


def test_a_rate_that_is_unknown_cannot_be_converted(humanactivity_train):
    with pytest.raises(DataError, match="--sample-rate"):
        at_rate(load_data(humanactivity_train), 50)
    data, _ = at_rate(load_data(humanactivity_train, sample_rate_hz=50), 25)
    assert data.sample_rate_hz == 25


def test_train_records_units_and_a_chosen_rate(tmp_path):
    out = tmp_path / "run"
    result = edge_har("train", "--out", str(out), "--rate", "25", "--epochs", "1", "--steps-per-epoch", "2",
                      "--batch-size", "4", "--filters", "8")
    assert result.returncode == 0, result.stderr
    assert "from 50 Hz to 25 Hz" in result.stdout and "Input units: g (as the data states)" in result.stdout
    import json

    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["sample_rate_hz"] == 25 and metrics["input_units"] == "g"
    _assert_clean_failure(edge_har("train", "--units", "furlongs", "--out", str(tmp_path / "x"), "--epochs", "1"),
                          "unknown units 'furlongs'")
