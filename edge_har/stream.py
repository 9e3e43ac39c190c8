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

from rich.console import Console

from .engines import int8_engine, make_engine
from .exported import Exported
from .files import write_json
from .frames import Reader
from .interrupt import ctrl_c_sets
from .live_view import LiveView
from .port import open_port, read_available, reopen
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
    rate_hz: float | None = None  # used until the board declares its own
    scale: float | None = None  # model units per board unit, until the board declares it
    duration: float | None = None  # seconds
    compare_fp32: bool = True
    log: Path | None = None  # one CSV row per step
    summary: Path | None = None  # JSON written at the end (default: RUN/stream_summary.json)
    live: bool = True
    reconnect_timeout_s: float = 30.0
    idle_exit_s: float | None = None  # stop once data has flowed and then nothing came for this long


def stream(opts: StreamOptions, console: Console | None = None, stop: Callable[[], bool] = lambda: False) -> dict:
    """Read the port until --duration, `stop()` or Ctrl-C; return (and write) the summary."""
    console = console or Console()
    export = Exported.open(opts.run)
    int8 = int8_engine(opts.engine, opts.backend, export)
    fp32 = make_engine(opts.engine, "onnx_fp32", export) if opts.compare_fp32 else None
    reader = Reader(opts.fmt, export.readings)
    port = open_port(opts.port, opts.baud)
    log = StepLog(opts.log)
    session = StreamSession(export, int8, fp32, log.write, opts.rate_hz, opts.scale)
    started = last_data = time.monotonic()
    interrupted = threading.Event()

    def halt() -> bool:
        return (stop() or interrupted.is_set()
                or (opts.duration is not None and time.monotonic() - started >= opts.duration))

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
                for item in reader.feed(data):
                    session.handle(item)
                view.update(session, reader.fmt, time.monotonic(), time.monotonic() - started)
        if interrupted.is_set():
            console.print("Stopped (Ctrl-C).")
    finally:
        log.close()
        if port is not None:
            port.close()
    about = {"port": opts.port, "run": str(opts.run), "backend": opts.backend, "engine": opts.engine}
    summary = summarize(session, reader, about, time.monotonic() - started)
    write_json(opts.summary or export.run_folder / SUMMARY_FILE, summary)
    print_summary(console, summary)
    return summary
