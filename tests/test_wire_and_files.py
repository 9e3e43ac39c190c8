"""What users and wires do that a first version did not survive (issue 26): one subject as a
dataset, values no model can take, a second host on a running board, destinations that are
files, read-only or full, damaged model files, and reports that stay bounded. Each mistake ends
in one line and a non-zero exit, with every user file as it was."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rich.console import Console

from edge_har.core.errors import UserError
from edge_har.data.loading import load_data
from edge_har.device.emulator import EmulatorOptions, Terminal
from edge_har.link.frames import FrameDecoder, Info, Reader, Sample, TextDecoder, encode_info, encode_sample
from edge_har.link.port import open_port
from edge_har.link.record import RecordingWriter, check_label
from edge_har.runtime.engines import int8_engine, make_engine
from edge_har.runtime.export_folder import Exported
from edge_har.runtime.session import LARGEST_GAPS, StreamSession
from edge_har.runtime.stream import StreamOptions, stream

from .conftest import play, signalled_child, write_csv
from .test_cli import EDGE_HAR, SUBPROCESS_LIMIT_S, TINY, _assert_clean_failure, edge_har

QUIET = Console(quiet=True)
QUICK = [arg for arg in TINY if arg not in ("--wear", "rolled")]  # TINY, with the default --wear auto


def checksum(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_person_csv(path: Path, subject: str = "sim3") -> Path:
    data = load_data(None).select([subject])
    recording = data.recordings[0]
    return write_csv(path, recording.x, [data.classes[i] for i in recording.y])


# One subject is a dataset too

def test_one_persons_csv_trains_and_says_its_figures_are_not_on_an_unseen_person(tmp_path):
    path = one_person_csv(tmp_path / "me.csv")
    before = checksum(path)
    result = edge_har("train", "--data", str(path), "--out", str(tmp_path / "run"), *QUICK)
    assert result.returncode == 0, result.stderr
    assert "NOT on an unseen person" in " ".join(result.stdout.split())
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["final"]["validation_subjects"] == ["me:held-back"]
    assert metrics["wear"]["validation_subjects"] == ["me:held-back"]  # --wear auto chose on held-back time
    assert checksum(path) == before


@pytest.mark.parametrize("form", ["BOM and CRLF", "tabs", "semicolons"])
def test_a_csv_in_another_form_reads_as_the_plain_one(tmp_path, form):
    """What a spreadsheet writes reads as the plain CSV that trains above, sample for sample."""
    plain = one_person_csv(tmp_path / "me.csv")
    text = plain.read_text()
    written = {"BOM and CRLF": "\ufeff" + text.replace("\n", "\r\n"), "tabs": text.replace(",", "\t"),
               "semicolons": text.replace(",", ";")}[form]
    other = tmp_path / "other" / "me.csv"
    other.parent.mkdir()
    other.write_bytes(written.encode())
    expected, read = load_data(str(plain)), load_data(str(other))
    assert read.classes == expected.classes and read.subjects == expected.subjects
    assert np.array_equal(read.recordings[0].x, expected.recordings[0].x)
    assert np.array_equal(read.recordings[0].y, expected.recordings[0].y)


def test_one_persons_time_is_split_within_every_activity():
    from edge_har.data.dataset import held_back_time

    data = load_data(None).select(["sim2"])
    split = held_back_time(data, 0.2)
    assert split.subjects == ["sim2", "sim2:held-back"]
    kept, held = (split.select([s]) for s in split.subjects)
    assert kept.labelled_steps() + held.labelled_steps() == data.labelled_steps()
    for label in range(len(data.classes)):
        total = sum((r.y == label).sum() for r in data.recordings)
        assert sum((r.y == label).sum() for r in held.recordings) == pytest.approx(0.2 * total, abs=len(data.recordings))


def test_cross_validation_of_one_person_is_refused_before_training(tmp_path):
    path = one_person_csv(tmp_path / "me.csv")
    result = edge_har("train", "--data", str(path), "--cv", "loso", "--out", str(tmp_path / "run"), *QUICK)
    _assert_clean_failure(result, "holds one (me)")


# Options and destinations, checked before any work

@pytest.mark.parametrize("cv", ["abc", "1", "0"])
def test_a_bad_cv_is_refused_before_the_data_is_loaded(tmp_path, cv):
    result = edge_har("train", "--cv", cv, "--out", str(tmp_path / "run"), *TINY)
    _assert_clean_failure(result, f"--cv must be 'loso' or a number of folds >= 2, not '{cv}'")
    assert "Data:" not in result.stdout


@pytest.mark.parametrize("args, option", [
    (["stream", "--port", "/dev/null", "--model", "run", "--rate", "-5"], "--rate"),
    (["stream", "--port", "/dev/null", "--model", "run", "--duration", "-1"], "--duration"),
    (["stream", "--port", "/dev/null", "--model", "run", "--samples", "0"], "--samples"),
    (["train", "--sample-rate", "0"], "--sample-rate"),
    (["emulate", "--rate", "0"], "--rate"),
])
def test_out_of_range_numbers_are_refused_in_one_line(args, option):
    result = edge_har(*args)
    _assert_clean_failure(result, f"Invalid value for '{option}'")
    assert f"edge-har {args[0]} --help" in result.stderr


def test_stream_log_under_a_file_is_refused_before_the_port_is_opened(exported, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    result = edge_har("stream", "--port", str(tmp_path / "no-port"), "--model", str(exported),
                      "--log", str(notes / "steps.csv"))
    _assert_clean_failure(result, "is a file, not a folder")
    assert notes.read_text() == "mine"


def test_stream_refuses_to_overwrite_a_named_summary(exported, tmp_path):
    summary = tmp_path / "summary.json"
    summary.write_text("{}")
    result = edge_har("stream", "--port", str(tmp_path / "no-port"), "--model", str(exported), "--summary", str(summary))
    _assert_clean_failure(result, "already exists (a file of 2 bytes from")
    assert "; choose another --summary, remove it or add --force" in result.stderr
    assert summary.read_text() == "{}"


def test_calibrate_refuses_to_overwrite_a_file(exported, tmp_path):
    out = tmp_path / "cal.npz"
    out.write_bytes(b"my calibration")
    result = edge_har("calibrate", str(exported), "--out", str(out))
    _assert_clean_failure(result, "already exists")
    assert out.read_bytes() == b"my calibration"


@contextlib.contextmanager
def small_disk(folder: Path, size: str, read_only: bool = False):
    """A real file system of `size` (tmpfs), mounted at `folder`: a disk that fills or is read-only."""
    folder.mkdir()
    options = f"size={size}" + (",ro" if read_only else "")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here (needs root): {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


def test_train_onto_a_read_only_disk_is_refused_before_training(tmp_path):
    with small_disk(tmp_path / "ro", "4m", read_only=True) as disk:
        result = edge_har("train", "--out", str(disk / "run"), *TINY)
    _assert_clean_failure(result, "read-only")
    assert "Data:" not in result.stdout


def test_train_onto_a_full_disk_is_refused_before_training(tmp_path):
    with small_disk(tmp_path / "small", "1m") as disk:
        result = edge_har("train", "--out", str(disk / "run"), *TINY)
    _assert_clean_failure(result, "MB free on its disk")
    assert "Data:" not in result.stdout


def test_export_onto_a_full_disk_is_refused_and_keeps_the_run(exported, tmp_path):
    with small_disk(tmp_path / "small", "8m") as disk:
        run = disk / "run"
        shutil.copytree(exported, run)
        before = {p.name: checksum(p) for p in run.rglob("*") if p.is_file()}
        result = edge_har("export", str(run), "--int8", "--force")
        after = {p.name: checksum(p) for p in run.rglob("*") if p.is_file()}
    _assert_clean_failure(result, "MB free on its disk")
    assert after == before


# Damaged artifacts

@pytest.mark.parametrize("name, command", [
    ("model_int8.onnx", ["parity", "{run}", "--subjects", "sim6", "--tflm-steps", "10"]),
    ("step_int8.tflite", ["stream", "--port", "/dev/null", "--model", "{run}"]),
    ("step_int8.tflite", ["parity", "{run}", "--subjects", "sim6", "--engine", "step"]),
])
@pytest.mark.parametrize("cut", [0, 100, "half"])
def test_a_truncated_model_file_is_named_with_the_fix(exported, tmp_path, name, command, cut):
    run = tmp_path / "run"
    shutil.copytree(exported, run)
    path = run / "export" / name
    whole = path.read_bytes()
    path.write_bytes(whole[:len(whole) // 2 if cut == "half" else cut])
    result = edge_har(*[arg.format(run=run) for arg in command])
    _assert_clean_failure(result, f"{path}: damaged")
    assert f"edge-har export {run} --int8" in result.stderr


@pytest.mark.parametrize("content", ["[1, 2]", '{"classes": ["a"]}'])
def test_an_export_report_of_the_wrong_shape_is_named(exported, tmp_path, content):
    run = tmp_path / "run"
    shutil.copytree(exported, run)
    (run / "export" / "export.json").write_text(content)
    result = edge_har("stream", "--port", "/dev/null", "--model", str(run))
    _assert_clean_failure(result, "not an edge-har export.json")


# The emulator never destroys a file, and leaves no link behind

@pytest.mark.parametrize("kind", ["file", "folder"])
def test_emulate_link_never_replaces_what_it_did_not_make(tmp_path, kind):
    link = tmp_path / "tty"
    if kind == "file":
        link.write_text("my notes")
    else:
        link.mkdir()
        (link / "inside.txt").write_text("mine")
    result = edge_har("emulate", "--link", str(link), "--speed", "0")
    _assert_clean_failure(result, f"--link {link} is a {kind}")
    if kind == "file":
        assert link.read_text() == "my notes" and not link.is_symlink()
    else:
        assert (link / "inside.txt").read_text() == "mine"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_emulate_removes_its_link_when_it_is_stopped(tmp_path, sig):
    link = tmp_path / "tty"
    process = signalled_child([EDGE_HAR, "emulate", "--link", str(link), "--speed", "1"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == str(link)  # printed once the port can be opened
    assert link.is_symlink()
    process.send_signal(sig)
    _, err = process.communicate(timeout=SUBPROCESS_LIMIT_S)
    assert process.returncode == 130 and "Traceback" not in err, err
    assert not link.is_symlink() and not link.exists()


# The wire cannot crash the stream

def feed(terminal: Terminal, data: bytes, done: threading.Event) -> threading.Thread:
    """A board that writes `data` once a host has opened the port, then waits until it is read."""
    def board():
        terminal.wait_for_reader(lambda: False)
        terminal.write(data, lambda: False, 60)
        terminal.wait_until_read(lambda: False, 60)
        done.set()

    thread = threading.Thread(target=board, daemon=True)
    thread.start()
    return thread


def test_values_no_model_can_take_are_counted_and_the_summary_is_written(exported, tmp_path):
    good = b"0.1,0.2,1.0,Walking\n" * 20
    bad = b"1e308,0,1,Walking\n-1e39,0,1\n0,1e400,1\n"  # finite as text, not as float32 (two), and not at all
    terminal, done = Terminal(None, b"# data=synthetic\n"), threading.Event()
    feed(terminal, good + bad + good + b"nan,0,1\n" + good, done)
    summary = stream(StreamOptions(terminal.path, exported, live=False, summary=tmp_path / "s.json",
                                   log=tmp_path / "log.csv"), QUIET, stop=done.is_set)
    terminal.close()
    assert summary["samples"] == 60 and summary["bad_samples"] == 2 and summary["bad_frames"] == 2
    assert json.loads((tmp_path / "s.json").read_text())["bad_samples"] == 2
    assert (tmp_path / "log.csv").read_text().count("bad sample") == 2


def test_a_second_host_on_a_running_board_is_judged_by_what_the_board_says(exported, tmp_path):
    data = load_data(None).select(["sim6"])
    link, stop = tmp_path / "tty", threading.Event()
    board, _ = play(EmulatorOptions(data, link, speed=0, linger_s=SUBPROCESS_LIMIT_S), link, stop.is_set)
    try:
        for session in ("first", "second"):
            summary = tmp_path / f"{session}.json"
            result = edge_har("stream", "--port", str(link), "--model", str(exported), "--samples", "300",
                              "--summary", str(summary))
            assert result.returncode == 0, result.stderr
            report = json.loads(summary.read_text())
            assert report["samples"] >= 300 and report["scale"] != 1.0  # the count scale from the board's own info
    finally:
        stop.set()
        board.join()


def test_a_second_reader_of_a_port_is_told_it_is_busy_and_the_first_loses_nothing(exported, tmp_path):
    """A serial port has one reader; the emulator's port too. The second `stream` hears that the
    port is busy, and every sample reaches the first, counter after counter."""
    data = load_data(None).select(["sim6"])
    link = tmp_path / "tty"
    board, result = play(EmulatorOptions(data, link, speed=0, linger_s=1), link)
    first, received, done = open_port(str(link), 115200), bytearray(), threading.Event()

    def read_all():
        while not done.is_set() or first.in_waiting:
            received.extend(first.read(max(1, first.in_waiting)))

    reader = threading.Thread(target=read_all)
    reader.start()
    try:
        second = edge_har("stream", "--port", str(link), "--model", str(exported), "--samples", "10")
    finally:
        while "report" not in result and board.is_alive():
            board.join(0.2)
        done.set()
        reader.join()
        first.close()
    _assert_clean_failure(second, "the port is busy")
    seqs = [item.seq for item in FrameDecoder().feed(bytes(received)) if isinstance(item, Sample)]
    assert seqs == list(range(len(data.recordings[0].x)))


def _cpu_seconds(pid: int) -> float:
    """User and system time a process has used, from /proc (fields 14 and 15 of its stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_an_emulator_waiting_for_a_host_costs_no_cpu(tmp_path):
    link = tmp_path / "tty"
    process = signalled_child([EDGE_HAR, "emulate", "--link", str(link)], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout.readline().strip() == str(link)  # the port is up: it waits for a host now
        before = _cpu_seconds(process.pid)
        time.sleep(5)  # a span to measure over, not a limit: a loaded machine only lowers the figure
        spent = _cpu_seconds(process.pid) - before
    finally:
        process.terminate()
        process.communicate(timeout=SUBPROCESS_LIMIT_S)
    assert spent < 0.25, f"{spent:.2f} s of CPU in 5 s of waiting"


def test_a_faulty_boards_summary_keeps_totals_and_the_largest_gaps(exported):
    export = Exported.open(exported)
    session = StreamSession(export, int8_engine("step", "onnx_int8", export), None, lambda step: None)
    seq, frames, losses = 0, [encode_info({"data": "synthetic"})], []
    for i in range(300):
        lost = 1 + (i * 7) % 13
        losses.append(lost)
        frames.append(encode_sample(seq, 0, 0, 1000))
        seq += 1 + lost
    decoder = FrameDecoder()
    session.handle(decoder.feed(b"".join(frames)))
    stats = session.stats.as_dict(1.0)
    assert stats["gap_count"] == 299 and stats["lost_samples"] == sum(losses[:-1])
    gaps = stats["largest_gaps"]
    assert len(gaps) == LARGEST_GAPS == stats["largest_gaps_kept"]
    assert [g["lost"] for g in gaps] == sorted(losses[:-1], reverse=True)[:LARGEST_GAPS]
    assert len(json.dumps(stats)) < 5000


# Property tests: arbitrary bytes and lines

LABEL_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=20)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LABEL_TEXT, st.floats(min_value=1.0, max_value=4000.0),
       st.lists(st.tuples(*[st.floats(-1e4, 1e4, width=32)] * 3), min_size=2, max_size=40))
def test_what_record_writes_train_and_emulate_read_back_sample_for_sample(tmp_path, label, rate, readings):
    """Any label `record` takes, any rate, any readings: the CSV it writes loads (as `train` and
    `emulate` load data) into the same samples, the same class and the same rate."""
    try:
        check_label(label)
    except UserError:
        return  # refused at the start, with the reason (a test below)
    path = tmp_path / "me.csv"
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = RecordingWriter(file, label)
        for i, reading in enumerate(readings):
            writer.add(i / rate, reading)
    data = load_data(path)
    assert data.classes == [label] and len(data.recordings) == 1
    np.testing.assert_array_equal(data.recordings[0].x, np.array(readings, dtype=np.float32))
    assert data.sample_rate_hz == pytest.approx(rate, rel=1e-3)


@pytest.mark.parametrize("label", ["", "  ", "unlabelled", "None", " Walking", "Walk\ning"])
def test_record_refuses_a_label_it_could_not_read_back(tmp_path, label):
    result = edge_har("record", "--port", str(tmp_path / "no-port"), "--label", label, "--out", str(tmp_path / "me.csv"))
    _assert_clean_failure(result, "--label")
    assert not (tmp_path / "me.csv").exists()


@settings(max_examples=3000, deadline=None)
@given(st.binary(max_size=200), st.integers(min_value=1, max_value=7))
def test_decoders_take_any_bytes(data, cut):
    for decoder in (FrameDecoder(), TextDecoder(), Reader("auto", 3)):
        try:
            items = decoder.feed(data[:cut]) + decoder.feed(data[cut:])
        except UserError as err:  # a stream that is no board's, refused in one line
            assert isinstance(decoder, Reader), err
            continue
        assert all(isinstance(item, (Sample, Info)) for item in items)


NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True).map(repr), st.integers().map(str),
                    st.sampled_from(["1e308", "-1e308", "1e39", "nan", "inf", "-inf", "1e-320", "", "x", "0x10"]))
LINES = st.one_of(
    st.lists(NUMBERS, min_size=1, max_size=5).map(",".join),
    st.tuples(NUMBERS, NUMBERS, NUMBERS, st.sampled_from(["", ",Walking", ",Nobody", ",3"])).map(
        lambda t: ",".join(t[:3]) + t[3]),
    st.text(max_size=40).filter(lambda line: not line.lstrip().startswith("#")),
    st.sampled_from(["# rate_hz=0", "# rate_hz=-5", "# rate_hz=nan", "# scale=0", "# scale=1e308", "# units=furlongs",
                     "# rate_hz=1e308", "# scale=abc", "# classes=", "# data=synthetic"]),
)


@pytest.fixture(scope="module")
def engines(exported):
    export = Exported.open(exported)
    return export, int8_engine("step", "litert_int8", export), make_engine("step", "onnx_fp32", export)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(LINES, max_size=6))
def test_the_session_takes_any_text_lines(engines, lines):
    export, int8, fp32 = engines
    session = StreamSession(export, int8, fp32, lambda step: None)
    decoder = TextDecoder()
    session.handle(decoder.feed(b"# data=synthetic\n"))
    payload = "".join(line.replace("\n", " ") + "\n" for line in lines).encode("utf-8", "replace")
    items = decoder.feed(payload)
    session.handle(items)
    samples = sum(isinstance(item, Sample) for item in items)
    stats = session.stats
    assert stats.samples + stats.bad_samples == samples  # every sample is delivered or counted
    assert stats.steps == stats.samples


def test_a_given_format_borne_out_by_the_bytes_is_not_doubted_before_its_first_sample():
    """A binary board that sends a long stretch of info frames first: --format binary is right, and
    the reader waits for its samples instead of telling the user to give --format binary."""
    info = b"".join(encode_info({"note": "x" * 200}) for _ in range(4))
    reader = Reader("binary", 3)
    assert not any(isinstance(item, Sample) for item in reader.feed(info))
    assert [item.seq for item in reader.feed(encode_sample(0, 1, 2, 3)) if isinstance(item, Sample)] == [0]
