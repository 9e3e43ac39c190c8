"""`edge-har emulate`: a board on a pseudo-terminal, for testing `stream` without hardware.

It plays a recording (any `--data` source) as the frames a board sends, at the real sample
rate or N times faster, and can inject the faults real links have: dropped frames, corrupted
bytes, a counter reset (a board reboot) and a disconnect followed by a reconnect. A disconnect
closes the pseudo-terminal and opens a new one; `link` is a fixed path (a symlink, moved to the
new terminal) that plays the part of `/dev/ttyUSB0`: like a board's device node, it goes away
when the board is unplugged and when the emulator ends.

A serial library flushes the port's input when it opens it (pyserial does, after configuring
the port), so a board's bytes from before that moment are gone. The emulator starts sending
only after that flush, which it sees on the master side in packet mode (TIOCPKT), so no frame
it reports as sent is thrown away by the reader's own open, however slow the machine is.
"""

from __future__ import annotations

import fcntl
import os
import select
import struct
import termios
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ..core.errors import UserError
from ..core.labels import UNLABELED
from ..core.units import canonical, factor
from ..data.dataset import Dataset, units_of
from ..link.frames import SYNTHETIC_DECLARATION, encode_info, encode_sample

INT16_MAX = 32767
PTY_FOLDER = "/dev/pts/"  # where os.openpty's terminals live (Linux)
FLUSH_WAIT_S = 2.0  # how long to wait for a new reader's input flush; readers that never flush lose nothing
READER_LOOK_S = 0.05  # how often a port with no reader looks for one (a pty tells the master nothing of an open)
EMPTY_POLLS = 3  # polls, 20 ms apart, that must find the reader's queue empty before a cable is pulled
# Bytes the emulator lets wait for the reader: well inside a pty's 4,095-byte line buffer, so that
# nothing waits in the kernel's flip buffers, where the reader's FIONREAD count cannot see it.
UNREAD_LIMIT = 2048


@dataclass
class Faults:
    drop_frames: float = 0.0  # probability that a sample's frame is not sent
    corrupt_bytes: float = 0.0  # probability that a sent byte is flipped
    reset_at: list[int] = field(default_factory=list)  # sample indices where the board reboots
    disconnect_at: list[int] = field(default_factory=list)  # sample indices where the cable is pulled
    seed: int = 0


@dataclass
class EmulatorOptions:
    data: Dataset
    link: Path | None = None  # stable path to the current terminal
    fmt: str = "binary"  # or "text"
    speed: float = 1.0  # 1: real time; 0: as fast as the reader takes it
    scale: float | None = None  # model units per board count (binary); default: full int16 range
    labels: bool = True
    units: str | None = None  # the board's units (g, m/s2, counts); None: the recording's own
    jitter_s: float = 0.0  # each frame leaves up to this much later than its time (with speed > 0)
    declare: bool = True  # declare rate_hz= and units= in the info; False: a board that says neither
    faults: Faults = field(default_factory=Faults)
    reconnect_after_s: float = 0.5
    linger_s: float = 10.0  # how long to wait for a reader that left (and, at the end, for it to leave)


@dataclass
class EmulatorReport:
    corrupted_bytes: int = 0
    resets: int = 0
    disconnects: int = 0
    reader_left: bool = False  # the reader closed the port before the end and did not come back
    # per sample made: "sent", "dropped", "corrupted" or "offline", and the stream (reboot) it belongs to
    fates: list[tuple[str, int]] = field(default_factory=list)

    def count(self, *kinds: str) -> int:
        return sum(fate in kinds for fate, _ in self.fates)

    @property
    def sent(self) -> int:
        return self.count("sent", "corrupted")

    @property
    def dropped(self) -> int:
        return self.count("dropped")

    @property
    def corrupted_frames(self) -> int:
        return self.count("corrupted")

    @property
    def lost_offline(self) -> int:
        """Samples the board made while the cable was out."""
        return self.count("offline")


class ReaderGone(Exception):
    """The reader closed the port and did not come back."""


class Terminal:
    """A pseudo-terminal; the emulator writes to the master side, a reader opens the slave path."""

    def __init__(self, link: Path | None, greeting: bytes = b""):
        """`greeting` (the board's info) goes to every reader that opens the port, first: a host
        that connects to a board already running learns what it is from the board itself."""
        self.greeting = greeting
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        tty.setraw(slave)  # binary frames must pass the line discipline untouched
        os.close(slave)
        os.set_blocking(self.master, False)
        fcntl.ioctl(self.master, termios.TIOCPKT, struct.pack("i", 1))  # report the reader's flushes
        self.unread = 0  # bytes written that the reader may not have taken yet (an upper bound)
        self.hangup = select.poll()
        self.hangup.register(self.master, select.POLLHUP)  # the reader's open is then visible as the end of POLLHUP on the master
        self.link = link
        if link is not None:
            check_link(link)
            tmp = link.with_name(f".{link.name}.new")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.path)
            tmp.replace(link)

    @property
    def name(self) -> str:
        return str(self.link or self.path)

    def wait_for_reader(self, stop: Callable[[], bool], timeout_s: float | None = None) -> None:
        """Block until a reader has the port open and has flushed its input on opening (or has
        not, for FLUSH_WAIT_S), then greet it; raise ReaderGone when none comes within `timeout_s`."""
        self._await_reader(stop, timeout_s)
        self._greet(stop)

    def _greet(self, stop: Callable[[], bool]) -> None:
        view = memoryview(self.greeting)  # a few hundred bytes, far below the pty's buffer
        while view and not stop() and self.reader_present():
            try:
                view = view[os.write(self.master, view):]
            except OSError:  # full for a moment, or the reader left already
                time.sleep(0.001)
        self.unread = len(self.greeting) - len(view)

    def _await_reader(self, stop: Callable[[], bool], timeout_s: float | None) -> None:
        if not self.reader_present():
            self._status()  # forget what an earlier reader did
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while not stop() and not self.reader_present():
            if deadline is not None and time.monotonic() > deadline:
                raise ReaderGone()
            time.sleep(READER_LOOK_S)  # a master reports POLLHUP at once while no reader has the port: poll cannot wait
        flushed_by = time.monotonic() + FLUSH_WAIT_S
        status = select.poll()
        status.register(self.master, select.POLLIN | select.POLLPRI)
        self.unread = 0  # whatever was waiting, the reader's open flushes (or, with no flush, reads) it
        while not stop() and time.monotonic() < flushed_by:
            if self._status() & termios.TIOCPKT_FLUSHREAD:
                return
            status.poll(20)

    def _status(self) -> int:
        """The packet-mode status bits waiting on the master since the last call (0 if none)."""
        bits = 0
        while True:
            try:
                packet = os.read(self.master, 4096)
            except OSError:  # nothing waiting (EAGAIN), or no reader (EIO)
                return bits
            if not packet:
                return bits
            if packet[0] != termios.TIOCPKT_DATA:
                bits |= packet[0]

    def reader_present(self) -> bool:
        return not any(event & select.POLLHUP for _, event in self.hangup.poll(0))

    def wait_until_read(self, stop: Callable[[], bool], stall_s: float) -> None:
        """Block until the reader has taken every byte written so far, however slowly it reads:
        its line buffer must stay empty over EMPTY_POLLS polls (the kernel moves a pty's bytes
        into it in the background). Give up only on a reader that has gone, or that took nothing
        for `stall_s`."""
        empty, last, moved_at = 0, None, time.monotonic()
        while not stop() and empty < EMPTY_POLLS and self.reader_present():
            pending = self._pending()
            if pending != last:
                last, moved_at = pending, time.monotonic()
            elif pending and time.monotonic() - moved_at > stall_s:
                return
            empty = empty + 1 if pending == 0 else 0
            time.sleep(0.02)

    def wait_for_reader_to_leave(self, stop: Callable[[], bool], timeout_s: float) -> None:
        poller = select.poll()
        poller.register(self.master, select.POLLHUP)
        deadline = time.monotonic() + timeout_s
        while not stop() and time.monotonic() < deadline:
            if any(event & select.POLLHUP for _, event in poller.poll(50)):
                return

    def write(self, data: bytes, stop: Callable[[], bool], linger_s: float) -> None:
        """Write everything, keeping at most UNREAD_LIMIT bytes unread; if the reader has gone,
        wait `linger_s` for it to come back."""
        view = memoryview(data)
        while view and not stop():
            if not self.reader_present():
                self.wait_for_reader(stop, linger_s)
                continue
            if self.unread + len(view) > UNREAD_LIMIT:
                self.unread = self._pending()
                if self.unread + len(view) > UNREAD_LIMIT:
                    time.sleep(0.001)
                    continue
            try:
                written = os.write(self.master, view)
            except BlockingIOError:  # the pty is full after all: let the reader catch up
                time.sleep(0.001)
                continue
            except OSError:
                self.wait_for_reader(stop, linger_s)
                continue
            view, self.unread = view[written:], self.unread + written

    def _pending(self) -> int:
        """Bytes in the reader's line buffer, not yet read (through a short-lived second opener:
        a lasting one would hide the reader's own close from `reader_present`)."""
        probe = os.open(self.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        try:
            return struct.unpack("i", fcntl.ioctl(probe, termios.FIONREAD, b"\0" * 4))[0]
        finally:
            os.close(probe)

    def close(self) -> None:
        """The port goes away, and with it the link to it, as a board's device node does."""
        os.close(self.master)
        if self.link is not None and self.link.is_symlink() and os.readlink(self.link) == self.path:
            self.link.unlink(missing_ok=True)


def check_link(link: Path) -> None:
    """`--link` may replace only a link of its own kind: a symlink to a pseudo-terminal (one an
    emulator left, or has just moved); never a user's file or folder."""
    if link.is_symlink() and os.readlink(link).startswith(PTY_FOLDER):
        return
    if link.exists() or link.is_symlink():
        kind = "a folder" if link.is_dir() else "a symlink elsewhere" if link.is_symlink() else "a file"
        raise UserError(f"--link {link} is {kind}, which the emulator would replace; choose a path that does not "
                        "exist (the emulator makes the link and removes it when it ends)")
    if not link.parent.is_dir():
        raise UserError(f"--link {link}: the folder {link.parent} does not exist; create it or choose another path")


def board_scale(data: Dataset) -> float:
    """Model units per int16 count, so the largest reading uses most of the int16 range."""
    peak = max(float(np.abs(rec.x).max()) for rec in data.recordings)
    return peak / (INT16_MAX * 0.9) if peak > 0 else 1.0


def emulate(opts: EmulatorOptions, ready: Callable[[str], None] = print,
            stop: Callable[[], bool] = lambda: False,
            finished: Callable[[EmulatorReport], None] = lambda report: None) -> EmulatorReport:
    """Play every recording once; `ready` gets the port name as soon as it can be opened, and
    sending starts when a reader has opened it. Once all is sent, the port stays open until the
    reader has read everything (then `finished` gets the report) and closes the port (at most
    `linger_s` later), as a board's would: closing the terminal earlier would throw away what is
    unread. A reader that stops at `finished` has therefore read every byte sent."""
    rng = np.random.default_rng(opts.faults.seed)
    data, units = in_board_units(opts.data, opts.units)
    scale = opts.scale or board_scale(data)
    rate = data.sample_rate_hz or 50.0
    declared = {"scale": f"{scale:.9g}" if opts.fmt == "binary" else "1", "classes": ",".join(data.classes)}
    if opts.declare:
        declared |= {"rate_hz": f"{rate:g}", "units": units}
    if data.synthetic:
        declared[SYNTHETIC_DECLARATION[0]] = SYNTHETIC_DECLARATION[1]
    info = _info_bytes(declared, opts.fmt)
    terminal = Terminal(opts.link, info)  # (which checks the link before making it)
    report, index, seq, offline = EmulatorReport(), 0, 0, 0
    try:
        ready(terminal.name)
        terminal.wait_for_reader(stop)
        started = time.monotonic()
        for rec in data.recordings:
            for x, y in zip(rec.x, rec.y):
                if stop():
                    return report
                if index in opts.faults.disconnect_at:
                    terminal = _reconnect(terminal, opts, report, stop)
                    offline = round(opts.reconnect_after_s * rate)  # samples the board made meanwhile
                if index in opts.faults.reset_at:
                    report.resets += 1
                    seq = 0
                    terminal.write(info, stop, opts.linger_s)
                label = int(y) if opts.labels and y != UNLABELED else None
                if offline:
                    offline -= 1
                    fate = "offline"
                elif rng.random() < opts.faults.drop_frames:
                    fate = "dropped"
                else:
                    frame = _sample_bytes(seq, x, label, scale, opts.fmt, data.classes)
                    sent = _corrupt(frame, opts.faults.corrupt_bytes, rng, report)
                    terminal.write(sent, stop, opts.linger_s)
                    fate = "sent" if sent == frame else "corrupted"
                report.fates.append((fate, report.resets))
                seq = (seq + 1) & 0xFFFF
                index += 1
                late = rng.uniform(0, opts.jitter_s * rate) if opts.jitter_s else 0.0
                _pace(started, index + late, rate, opts.speed)
        terminal.wait_until_read(stop, opts.linger_s)  # closing earlier would throw away what is unread
        finished(report)
        terminal.wait_for_reader_to_leave(stop, opts.linger_s)
    except ReaderGone:
        report.reader_left = True
    finally:
        terminal.close()
    return report


def in_board_units(data: Dataset, units: str | None) -> tuple[Dataset, str]:
    """The recordings in the board's units, and those units' name."""
    own, _ = units_of(data)
    if units is None:
        return data, own
    multiply = factor(own, units)
    return replace(data, recordings=[replace(r, x=(r.x * multiply).astype(np.float32)) for r in data.recordings],
                   units=canonical(units)), canonical(units)


def _reconnect(terminal: Terminal, opts: EmulatorOptions, report: EmulatorReport,
               stop: Callable[[], bool]) -> Terminal:
    """Pull the cable between two samples (after the reader has taken what was sent, so the
    losses are exactly the samples the board makes while unplugged): the port vanishes, and
    comes back (under the link) after a while."""
    terminal.wait_until_read(stop, opts.linger_s)
    terminal.close()
    report.disconnects += 1
    time.sleep(opts.reconnect_after_s)
    fresh = Terminal(opts.link, terminal.greeting)
    fresh.wait_for_reader(stop)
    return fresh


def _info_bytes(info: dict, fmt: str) -> bytes:
    if fmt == "binary":
        return encode_info(info)
    return ("# " + " ".join(f"{k}={v}" for k, v in info.items()) + "\n").encode("ascii")


def _sample_bytes(seq: int, x: np.ndarray, label: int | None, scale: float, fmt: str, classes: list[str]) -> bytes:
    if fmt == "binary":
        cx, cy, cz = np.clip(np.rint(x / scale), -INT16_MAX - 1, INT16_MAX).astype(int).tolist()
        return encode_sample(seq, cx, cy, cz, label)
    values = ",".join(repr(float(v)) for v in np.asarray(x, dtype=np.float32))
    return (values + (f",{classes[label]}" if label is not None else "") + "\n").encode("ascii")


def _corrupt(frame: bytes, probability: float, rng: np.random.Generator, report: EmulatorReport) -> bytes:
    if probability <= 0:
        return frame
    hits = rng.random(len(frame)) < probability
    if not hits.any():
        return frame
    damaged = bytearray(frame)
    for i in np.flatnonzero(hits):
        damaged[i] ^= 1 << int(rng.integers(0, 8))
    report.corrupted_bytes += int(hits.sum())
    return bytes(damaged)


def _pace(started: float, index: float, rate: float, speed: float) -> None:
    if speed <= 0:
        return
    due = started + index / (rate * speed)
    delay = due - time.monotonic()
    if delay > 0:
        time.sleep(delay)
