"""`edge-har stream --port ...`: live accelerometer frames into int8, one prediction per sample.

This module only runs the read loop; each part has its own home: the port (port.py), format
detection (frames.Reader), turning samples into predictions (session.py), the live view
(live_view.py), the CSV log (stream_log.py), Ctrl-C (interrupt.py) and the summary
(stream_summary.py). The rolling engine keeps a buffer of the last R samples; the step engine
keeps each layer's state (engines.py); fp32 runs the same engine for comparison. A port that
vanishes is waited for and reopened. Nothing here needs torch.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console

from ..core.console import styled, user_console
from ..core.errors import UserError
from ..core.files import check_new_file, write_json
from ..core.interrupt import ctrl_c_sets
from ..link.board import ArrivalRate
from ..link.frames import Reader, Sample
from ..link.port import open_port, read_available, reopen
from .engines import int8_engine, make_engine
from .export_folder import Exported
from .live_view import LiveView
from .session import StreamSession
from .stream_log import StepLog
from .stream_summary import SUMMARY_FILE, print_summary, summarize


@dataclass
class StreamOptions:
    port: str
    run: Path
    baud: int = 115200
    backend: str = "litert_int8"
    engine: str = "step"  # or "rolling", the reference
    fmt: str = "auto"  # auto, binary or text
    rate_hz: float | None = None  # the board's rate until it declares its own (default: the model's)
    scale: float | None = None  # units per board count, until the board declares it
    units: str | None = None  # the board's units until it declares them (default: the model's)
    duration: float | None = None  # seconds
    compare_fp32: bool = True
    log: Path | None = None  # one CSV row per step
    summary: Path | None = None  # JSON written at the end (default: RUN/stream_summary.json)
    live: bool = True
    reconnect_timeout_s: float = 30.0
    idle_exit_s: float | None = None  # stop once data has flowed and then nothing came for this long
    force: bool = False  # replace an existing --log or --summary file
    max_samples: int | None = None  # stop once this many board samples have arrived


# What a read's data can raise deep inside a conversion or a backend: counted, never the end of a stream
DATA_FAULTS = (ArithmeticError, ValueError)


def check_options(opts: StreamOptions) -> None:
    """Every option and destination, before the port is opened."""
    for name, value in (("--rate", opts.rate_hz), ("--scale", opts.scale), ("--duration", opts.duration),
                        ("--idle-exit", opts.idle_exit_s)):
        if value is not None and not (np.isfinite(value) and value > 0):
            raise UserError(f"{name} must be a positive number, not {value:g}")
    if opts.max_samples is not None and opts.max_samples < 1:
        raise UserError(f"--samples must be a positive number of samples, not {opts.max_samples}")
    if opts.baud <= 0:
        raise UserError(f"--baud must be a positive number of bits per second, not {opts.baud}")
    for option, path in (("--log", opts.log), ("--summary", opts.summary)):
        if path is not None:
            check_new_file(path, option, force=opts.force)


def stream(opts: StreamOptions, console: Console | None = None, stop: Callable[[], bool] = lambda: False) -> dict:
    """Read the port until --duration, `stop()` or Ctrl-C; return (and write) the summary."""
    console = console or user_console()
    check_options(opts)
    export = Exported.open(opts.run)
    summary_path = opts.summary or export.run_folder / SUMMARY_FILE
    check_new_file(summary_path, "--summary", force=True)
    int8 = int8_engine(opts.engine, opts.backend, export)
    fp32 = make_engine(opts.engine, "onnx_fp32", export) if opts.compare_fp32 else None
    reader = Reader(opts.fmt, export.axes)
    port = open_port(opts.port, opts.baud)
    log = StepLog(opts.log)
    session = StreamSession(export, int8, fp32, log.write, opts.rate_hz, opts.scale, opts.units, log.event)
    arrivals = ArrivalRate()
    started = last_data = time.monotonic()
    interrupted = threading.Event()

    def halt() -> bool:
        return (stop() or interrupted.is_set()
                or (opts.duration is not None and time.monotonic() - started >= opts.duration)
                or (opts.max_samples is not None and session.stats.samples >= opts.max_samples))

    try:
        with ctrl_c_sets(interrupted), LiveView(console, opts.live) as view:
            while not halt():
                if opts.idle_exit_s and session.stats.samples and time.monotonic() - last_data > opts.idle_exit_s:
                    break
                data = read_available(port)
                if data is None:  # the port vanished: wait for it to come back
                    port.close()
                    session.stats.reconnects += 1
                    port = reopen(opts.port, opts.baud, opts.reconnect_timeout_s, halt)
                    if port is None:
                        break
                    last_data = time.monotonic()  # waiting for the port is not idling
                    continue
                if data:
                    last_data = time.monotonic()
                items = reader.feed(data)
                _handle(session, items, log)
                _check_rate(session, arrivals, sum(isinstance(i, Sample) for i in items), console)
                view.update(session, reader.fmt, time.monotonic(), time.monotonic() - started)
        if interrupted.is_set():
            console.print("Stopped (Ctrl-C).")
    finally:  # the summary is written however the stream ends (an error, a refusal, Ctrl-C)
        log.close()
        if port is not None:
            port.close()
        about = {"port": opts.port, "run": str(opts.run), "backend": opts.backend, "engine": opts.engine}
        summary = {**summarize(session, reader, about, time.monotonic() - started),
                   "estimated_board_rate_hz": arrivals.estimate}
        write_json(summary_path, summary)
    print_summary(console, summary)
    return summary


def _handle(session: StreamSession, items: list, log: StepLog) -> None:
    """Hand one read's items to the session; data it cannot process is counted and logged."""
    try:
        session.handle(items)
    except DATA_FAULTS as err:
        session.stats.data_errors += 1
        session.pending.clear()
        log.event(f"data error, read skipped: {type(err).__name__}: {err}")


RATE_WARNING = 0.2  # warn when a board's arrival rate is this far (relative) from the rate assumed


def _check_rate(session: StreamSession, arrivals: ArrivalRate, samples: int, console: Console) -> None:
    """A board that declares no rate is taken to run at the model's: say so once when samples
    arrive at a rate far from it (they may also arrive faster than real time, from a buffer)."""
    board = session.board
    if board.rate_declared or arrivals.estimate is not None:
        return
    estimate = arrivals.observe(time.monotonic(), samples)
    if estimate and board.rate_hz and abs(estimate / board.rate_hz - 1) > RATE_WARNING:
        console.print(styled(("warning:", "bold yellow"),
                             f" samples arrive at about {estimate:.1f} Hz, and the board declares no rate, so it is "
                             f"taken to sample at the model's {board.rate_hz:g} Hz: if it samples at another rate, give "
                             "it with --rate HZ (or declare rate_hz= in its info)"))
