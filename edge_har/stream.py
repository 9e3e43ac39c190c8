"""`edge-har stream --port ...`: live accelerometer frames into int8, one prediction per sample.

The rolling engine keeps a buffer of the last R samples; the step engine keeps each layer's
state (engines.py). Either way the first sample of a stream stands for everything before it
(the start-of-stream rule of every engine), and fp32 runs the same engine for comparison.
Lost samples (a counter gap) are filled by holding the last reading so the model keeps real
time; a counter that goes backwards starts a new stream. A port that vanishes is waited for
and reopened.
"""

from __future__ import annotations

import csv
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table

from .engines import int8_engine, make_engine
from .errors import DataError, UserError
from .export import check_run_has_export
from .frames import FrameDecoder, Info, Sample, TextDecoder, detect_format
from .run import Run, write_json

SUMMARY_FILE = "stream_summary.json"
VIEW_PERIOD_S = 0.1  # rebuild the live view at most this often, not once per read


@dataclass
class StreamOptions:
    port: str
    run: Path
    baud: int = 115200
    backend: str = "litert_int8"
    engine: str = "step"  # or "rolling", the reference
    fmt: str = "auto"  # auto, binary or text
    rate_hz: float | None = None  # used until the board declares its own
    scale: float | None = None  # model units per board unit, until the board declares it
    duration: float | None = None  # seconds
    compare_fp32: bool = True
    log: Path | None = None  # one CSV row per step
    summary: Path | None = None  # JSON written at the end (default: RUN/stream_summary.json)
    live: bool = True
    reconnect_timeout_s: float = 30.0
    idle_exit_s: float | None = None  # stop once data has flowed and then nothing came for this long


@dataclass
class StreamStats:
    samples: int = 0
    lost_samples: int = 0
    bad_frames: int = 0
    skipped_bytes: int = 0
    resets: int = 0
    reconnects: int = 0
    agreements: int = 0
    labelled: int = 0
    int8_correct: int = 0
    fp32_correct: int = 0
    gaps: list[dict] = field(default_factory=list)

    def as_dict(self, seconds: float) -> dict:
        summary = {k: v for k, v in asdict(self).items() if k != "gaps"}
        summary.update({
            "seconds": round(seconds, 3),
            "samples_per_second": self.samples / seconds if seconds > 0 else 0.0,
            "int8_fp32_agreement": self.agreements / self.samples if self.samples else None,
            "int8_accuracy": self.int8_correct / self.labelled if self.labelled else None,
            "fp32_accuracy": self.fp32_correct / self.labelled if self.labelled else None,
            "gaps": self.gaps[:1000],
        })
        return summary


class StreamSession:
    """Turns decoded items into per-step predictions; knows nothing about ports."""

    def __init__(self, run: Run, int8, fp32, opts: StreamOptions, on_step: Callable[[dict], None]):
        """`int8` and `fp32` (or None) are engines (engines.py)."""
        self.classes, self.receptive_field = run.classes, run.receptive_field
        self.int8, self.fp32, self.on_step = int8, fp32, on_step
        self.engines = [e for e in (int8, fp32) if e is not None]
        self.last_xyz: np.ndarray | None = None
        self.scale = opts.scale or 1.0
        self.rate_hz = opts.rate_hz or run.sample_rate_hz
        self.board_classes: list[str] | None = None
        self.stats = StreamStats()
        self.last_seq: int | None = None
        self.stream_index = -1
        self.latest: dict = {}

    def handle(self, item: Sample | Info) -> None:
        if isinstance(item, Info):
            self._declare(item.fields)
            return
        xyz = np.asarray(item.xyz, dtype=np.float32) * self.scale
        self._track_sequence(item.seq, xyz)
        self._predict(item, xyz)
        self.last_xyz = xyz

    def _declare(self, fields: dict[str, str]) -> None:
        try:
            if "scale" in fields:
                self.scale = float(fields["scale"])
            if "rate_hz" in fields:
                self.rate_hz = float(fields["rate_hz"])
        except ValueError:
            return
        if fields.get("classes"):
            self.board_classes = fields["classes"].split(",")

    def _track_sequence(self, seq: int | None, xyz: np.ndarray) -> None:
        """Start a stream, fill lost samples by holding the last reading, or restart after a reboot."""
        if self.last_seq is None or (seq is not None and seq < self.last_seq and self.last_seq - seq < 32768):
            if self.last_seq is not None:
                self.stats.resets += 1
            self.stream_index += 1
            for engine in self.engines:
                engine.reset(xyz)
        elif seq is not None:
            lost = (seq - self.last_seq - 1) & 0xFFFF
            if lost:
                self.stats.lost_samples += lost
                self.stats.gaps.append({"after_seq": self.last_seq, "lost": lost, "at_step": self.stats.samples})
                for _ in range(min(lost, self.receptive_field)):
                    for engine in self.engines:
                        engine.skip(self.last_xyz)
        self.last_seq = seq if seq is not None else (self.last_seq or 0) + 1

    def _predict(self, item: Sample, xyz: np.ndarray) -> None:
        probs = _softmax(self.int8.predict(xyz))
        int8_class = int(probs.argmax())
        fp32_class = int(self.fp32.predict(xyz).argmax()) if self.fp32 else None
        true = self._true_class(item.label)
        stats = self.stats
        stats.samples += 1
        stats.agreements += int(fp32_class == int8_class) if fp32_class is not None else 0
        if true is not None:
            stats.labelled += 1
            stats.int8_correct += int(int8_class == true)
            stats.fp32_correct += int(fp32_class == true) if fp32_class is not None else 0
        self.latest = {"step": stats.samples - 1, "stream": self.stream_index, "seq": item.seq,
                       "x": float(xyz[0]), "y": float(xyz[1]), "z": float(xyz[2]), "true": true,
                       "int8": int8_class, "fp32": fp32_class, "probabilities": probs}
        self.on_step(self.latest)

    def _true_class(self, label: int | str | None) -> int | None:
        if label is None:
            return None
        name = label if isinstance(label, str) else (
            self.board_classes[label] if self.board_classes and label < len(self.board_classes) else None)
        return self.classes.index(name) if name in self.classes else None


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max())
    return shifted / shifted.sum()


def stream(opts: StreamOptions, console: Console | None = None, stop: Callable[[], bool] = lambda: False) -> dict:
    """Read the port until --duration, `stop()` or Ctrl-C; return (and write) the summary."""
    console = console or Console()
    run = Run(opts.run)
    export_dir = check_run_has_export(run.folder)
    r, channels = run.receptive_field, run.model.config.in_channels
    int8 = int8_engine(opts.engine, opts.backend, export_dir, r, channels)
    fp32 = make_engine(opts.engine, "onnx_fp32", export_dir, r, channels) if opts.compare_fp32 else None
    port = open_port(opts.port, opts.baud)
    log = _Log(opts.log)
    session = StreamSession(run, int8, fp32, opts, log.write)
    reader = Reader(opts.fmt, run.model.config.in_channels)
    started = last_data = time.monotonic()
    shown = 0.0
    interrupted = threading.Event()

    def halt() -> bool:
        return stop() or interrupted.is_set()

    try:
        with _ctrl_c_sets(interrupted), Live(console=console, refresh_per_second=8) if opts.live else _NoLive() as live:
            while not halt() and (opts.duration is None or time.monotonic() - started < opts.duration):
                if opts.idle_exit_s and session.stats.samples and time.monotonic() - last_data > opts.idle_exit_s:
                    break
                data = read_available(port)
                if data:
                    last_data = time.monotonic()
                if data is None:  # the port vanished: wait for it to come back
                    port.close()
                    session.stats.reconnects += 1
                    port = _reopen(opts, started, halt)
                    if port is None:
                        break
                    continue
                for item in reader.feed(data):
                    session.handle(item)
                if time.monotonic() - shown >= VIEW_PERIOD_S:
                    shown = time.monotonic()
                    live.update(_view(session, reader.fmt, shown - started))
        if opts.live and not console.is_terminal:
            console.line()  # a non-terminal's last live frame ends without a newline
        if interrupted.is_set():
            console.print("Stopped (Ctrl-C).")
    finally:
        log.close()
        if port is not None:
            port.close()
    summary = _summary(session, reader, opts, time.monotonic() - started)
    write_json(opts.summary or run.folder / SUMMARY_FILE, summary)
    _print_summary(console, summary)
    return summary


@contextmanager
def _ctrl_c_sets(flag: threading.Event) -> Iterator[None]:
    """Ctrl-C sets `flag` for the read loop to see, instead of raising inside whatever library call
    (inference, serial, the live view's lock) happens to be running. Signals reach the main thread only."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: flag.set())
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def open_port(path: str, baud: int):
    import serial

    try:
        return serial.Serial(path, baud, timeout=0.05)
    except serial.SerialException as err:
        if isinstance(err.__context__, PermissionError) or "Permission denied" in str(err):
            raise UserError(f"{path}: permission denied (on Linux, add yourself to the 'dialout' group)") from None
        if isinstance(err.__context__, FileNotFoundError) or "No such file" in str(err):
            raise UserError(f"{path}: no such port (is the board plugged in? `ls /dev/tty*` lists ports)") from None
        raise UserError(f"{path}: cannot open the port ({err})") from None


def read_available(port) -> bytes | None:
    """Whatever has arrived (b'' when nothing did), or None when the port has gone away."""
    import serial

    try:
        return port.read(max(1, port.in_waiting))
    except (serial.SerialException, OSError):
        return None


def _reopen(opts: StreamOptions, started: float, stop: Callable[[], bool]):
    deadline = time.monotonic() + opts.reconnect_timeout_s
    while not stop() and time.monotonic() < deadline:
        if opts.duration is not None and time.monotonic() - started >= opts.duration:
            return None
        try:
            return open_port(opts.port, opts.baud)
        except UserError:
            time.sleep(0.1)
    return None


class Reader:
    """Detects the format from the first bytes (unless given), then decodes."""

    HEAD_LIMIT = 4096

    def __init__(self, fmt: str, channels: int):
        if fmt not in ("auto", "binary", "text"):
            raise UserError(f"--format must be auto, binary or text, not {fmt!r}")
        self.fmt = None if fmt == "auto" else fmt
        self.channels = channels
        self.decoder = None if self.fmt is None else _decoder(self.fmt)
        self.head = b""

    def feed(self, data: bytes) -> list[Sample | Info]:
        if self.decoder is not None:
            return self.decoder.feed(data)
        self.head += data
        self.fmt = detect_format(self.head)
        if self.fmt is None:
            _check_text_channels(self.head, self.channels)
            if len(self.head) > self.HEAD_LIMIT:
                raise DataError(f"cannot recognise the stream after {len(self.head)} bytes: neither edge-har "
                                "binary frames nor x,y,z text lines (check --baud and the board's output)")
            return []
        self.decoder = _decoder(self.fmt)
        return self.decoder.feed(self.head)


def _decoder(fmt: str):
    return FrameDecoder() if fmt == "binary" else TextDecoder()


def _check_text_channels(head: bytes, channels: int) -> None:
    lines = [line for line in head.decode("ascii", "replace").splitlines()[:-1] if line and not line.startswith("#")]
    counts = set()
    for line in lines:
        parts = line.split(",")
        try:
            [float(p) for p in parts]
        except ValueError:
            continue
        counts.add(len(parts))
    if len(lines) >= 3 and counts and not counts & {channels, channels + 1}:
        raise DataError(f"the stream sends {min(counts)} values per line; the model takes {channels} "
                        f"channels (x,y,z or x,y,z,label)")


class _Log:
    """One CSV row per step, flushed as it goes so an interrupted stream keeps its log."""

    COLUMNS = ("step", "stream", "seq", "x", "y", "z", "true", "int8", "fp32")

    def __init__(self, path: Path | None):
        self.file = open(path, "w", newline="", buffering=1) if path else None  # noqa: SIM115 (open for the whole stream)
        self.writer = csv.DictWriter(self.file, self.COLUMNS, extrasaction="ignore") if self.file else None
        if self.writer:
            self.writer.writeheader()

    def write(self, step: dict) -> None:
        if self.writer:
            self.writer.writerow(step)

    def close(self) -> None:
        if self.file:
            self.file.close()


class _NoLive:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, _renderable) -> None:
        pass


def _view(session: StreamSession, fmt: str | None, seconds: float):
    stats, latest = session.stats, session.latest
    summary = stats.as_dict(seconds)
    head = Table.grid(padding=(0, 2))
    activity = session.classes[latest["int8"]] if latest else "waiting for data"
    head.add_row("[bold]activity[/]", f"[bold cyan]{activity}[/]")
    head.add_row("format", fmt or "detecting")
    head.add_row("samples/s", f"{summary['samples_per_second']:.0f} ({stats.samples} samples)")
    head.add_row("lost samples", f"{stats.lost_samples}  (bad frames {stats.bad_frames}, resets {stats.resets}, "
                                 f"reconnects {stats.reconnects})")
    if summary["int8_fp32_agreement"] is not None and session.fp32:
        head.add_row("int8 vs fp32", f"{summary['int8_fp32_agreement']:.4f} agreement")
    if summary["int8_accuracy"] is not None:
        fp32 = f", fp32 {summary['fp32_accuracy']:.4f}" if session.fp32 else ""
        head.add_row("accuracy", f"int8 {summary['int8_accuracy']:.4f}{fp32} ({stats.labelled} labelled steps)")
    bars = Table.grid(padding=(0, 1))
    if latest:
        for name, p in zip(session.classes, latest["probabilities"]):
            bars.add_row(name, "#" * int(round(p * 30)), f"{p:.2f}")
    return Group(head, bars)


def _summary(session: StreamSession, reader: Reader, opts: StreamOptions, seconds: float) -> dict:
    decoder_stats = reader.decoder.stats if reader.decoder else None
    if decoder_stats:
        session.stats.bad_frames = decoder_stats.bad_crc
        session.stats.skipped_bytes = decoder_stats.skipped_bytes
    return {"port": opts.port, "run": str(opts.run), "backend": opts.backend, "engine": opts.engine,
            "format": reader.fmt,
            "rate_hz": session.rate_hz, "scale": session.scale, "classes": session.classes,
            **session.stats.as_dict(seconds)}


def _print_summary(console: Console, summary: dict) -> None:
    parts = [f"{summary['samples']} samples in {summary['seconds']:.1f} s ({summary['samples_per_second']:.0f}/s)",
             f"lost {summary['lost_samples']}", f"bad frames {summary['bad_frames']}",
             f"resets {summary['resets']}", f"reconnects {summary['reconnects']}"]
    if summary["int8_fp32_agreement"] is not None:
        parts.append(f"int8/fp32 agreement {summary['int8_fp32_agreement']:.4f}")
    if summary["int8_accuracy"] is not None:
        parts.append(f"live accuracy int8 {summary['int8_accuracy']:.4f}"
                     + (f", fp32 {summary['fp32_accuracy']:.4f}" if summary["fp32_accuracy"] is not None else ""))
    console.print("Stream summary: " + ", ".join(parts))
