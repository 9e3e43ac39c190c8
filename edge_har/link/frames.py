"""The serial wire format (firmware_host/PROTOCOL.md): encoding, decoders that never raise, and
`Reader`, which detects from the first bytes whether a board sends binary frames or text lines.

`FrameDecoder.feed(data)` takes whatever bytes arrived and returns the complete items found so
far (samples and info messages), keeping a partial frame for the next call. Garbage, bad CRCs
and truncated frames are skipped and counted; the decoder resynchronizes on the next intact
frame.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass, field

from ..core.errors import DataError, UserError

SAMPLE_SYNC = b"\xaa\x55"
INFO_SYNC = b"\xaa\x56"
VERSION = 1  # a reading (and its label)
DEVICE_VERSION = 2  # the same, and the class the device's own model gave it
HAS_LABEL = 0x10
NO_LABEL = 0xFF
_SAMPLE_BODY = struct.Struct("<BHhhhB")  # flags, seq, x, y, z, label
_DEVICE_BODY = struct.Struct("<BHhhhBB")  # ... and the device's class
SAMPLE_FRAME_BYTES = 2 + _SAMPLE_BODY.size + 2
DEVICE_FRAME_BYTES = 2 + _DEVICE_BODY.size + 2
_FRAME_BYTES = {VERSION: SAMPLE_FRAME_BYTES, DEVICE_VERSION: DEVICE_FRAME_BYTES}
SYNTHETIC_DECLARATION = ("data", "synthetic")  # the info field of a board that plays the built-in synthetic set


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final xor."""
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


@dataclass(frozen=True)
class Sample:
    seq: int | None  # None for text lines, which carry no counter
    xyz: tuple[float, float, float]
    label: int | str | None = None  # class index (binary) or name (text)
    device_class: int | None = None  # the class the board's own model computed (protocol version 2)


@dataclass(frozen=True)
class Info:
    fields: dict[str, str]


def encode_sample(seq: int, x: int, y: int, z: int, label: int | None = None,
                  device_class: int | None = None) -> bytes:
    """A version 1 frame, or version 2 where the device computed a class."""
    has_label = HAS_LABEL if label is not None else 0
    fields = (seq & 0xFFFF, x, y, z, NO_LABEL if label is None else label)
    if device_class is None:
        body = _SAMPLE_BODY.pack(VERSION | has_label, *fields)
    else:
        body = _DEVICE_BODY.pack(DEVICE_VERSION | has_label, *fields, device_class)
    return SAMPLE_SYNC + body + struct.pack("<H", crc16(body))


def encode_info(fields: dict[str, object]) -> bytes:
    text = " ".join(f"{k}={v}" for k, v in fields.items()).encode("ascii")
    if len(text) > 255:
        raise ValueError("an info frame holds at most 255 bytes of text")
    body = bytes([len(text)]) + text
    return INFO_SYNC + body + struct.pack("<H", crc16(body))


def parse_info_text(text: str) -> dict[str, str]:
    return dict(part.split("=", 1) for part in text.split() if "=" in part)


@dataclass
class DecoderStats:
    frames: int = 0
    bad_crc: int = 0
    skipped_bytes: int = 0


@dataclass
class FrameDecoder:
    """Incremental binary decoder: feed bytes, get Samples and Infos."""

    stats: DecoderStats = field(default_factory=DecoderStats)
    _buffer: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[Sample | Info]:
        self._buffer += data
        items: list[Sample | Info] = []
        while True:
            start = self._buffer.find(b"\xaa")
            if start < 0:
                self._skip(len(self._buffer))
                return items
            self._skip(start)
            if len(self._buffer) < 2:
                return items
            kind = bytes(self._buffer[:2])
            item: Sample | Info | None
            if kind == SAMPLE_SYNC:
                item, need = self._sample()
            elif kind == INFO_SYNC:
                item, need = self._info()
            else:
                self._skip(1)
                continue
            if need:  # an incomplete frame: wait for more bytes
                return items
            if item is None:  # a bad CRC: the sync was garbage or the frame is damaged
                self.stats.bad_crc += 1
                self._skip(1)
                continue
            items.append(item)
            self.stats.frames += 1

    def _skip(self, count: int) -> None:
        self.stats.skipped_bytes += count
        del self._buffer[:count]

    def _sample(self) -> tuple[Sample | None, bool]:
        if len(self._buffer) < 3:
            return None, True
        size = _FRAME_BYTES.get(self._buffer[2] & 0x0F)
        if size is None:  # no version this decoder knows: a false sync
            return None, False
        if len(self._buffer) < size:
            return None, True
        body = self._checked_body(size)
        if body is None:
            return None, False
        flags, seq, x, y, z, label, *device = (_SAMPLE_BODY if size == SAMPLE_FRAME_BYTES else _DEVICE_BODY).unpack(body)
        del self._buffer[:size]
        device_class = device[0] if device and device[0] != NO_LABEL else None
        return Sample(seq, (float(x), float(y), float(z)), label if flags & HAS_LABEL else None, device_class), False

    def _checked_body(self, size: int) -> bytes | None:
        """The body of the `size`-byte frame at the buffer's start (between sync and CRC), or None
        where its CRC does not match."""
        frame = bytes(self._buffer[:size])
        body, (crc,) = frame[2:-2], struct.unpack("<H", frame[-2:])
        return body if crc == crc16(body) else None

    def _info(self) -> tuple[Info | None, bool]:
        if len(self._buffer) < 3:
            return None, True
        size = 3 + self._buffer[2] + 2
        text = self._buffer[3:size - 2]
        if any(byte < 0x20 or byte > 0x7E for byte in text):  # not text: a false sync, reject it now
            return None, False  # (waiting for its length would hold back the frames behind it)
        if len(self._buffer) < size:
            return None, True
        body = self._checked_body(size)
        if body is None:
            return None, False
        try:
            fields = parse_info_text(body[1:].decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            return None, False
        del self._buffer[:size]
        return Info(fields), False


@dataclass
class TextDecoder:
    """Lines of `x,y,z` or `x,y,z,label`, as boards print them: separated by commas, tabs or
    spaces, ending in LF or CRLF (Arduino's `Serial.println`); a header line of names (`ax ay az`)
    before the first reading is skipped; `#` lines carry info. Malformed lines are counted (a
    line of names among readings too: there it is damage, not a header)."""

    stats: DecoderStats = field(default_factory=DecoderStats)
    _partial: bytes = b""
    _readings_started: bool = False

    def feed(self, data: bytes) -> list[Sample | Info]:
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        items: list[Sample | Info] = []
        for raw in lines:
            item = self._parse(raw.strip())
            if item is None:
                self.stats.bad_crc += 1  # a malformed line: the text form's damaged frame
                self.stats.skipped_bytes += len(raw) + 1
            elif not isinstance(item, str):  # "": a blank or header line
                items.append(item)
                self.stats.frames += 1
                self._readings_started |= isinstance(item, Sample)
        return items

    def _parse(self, line: bytes) -> Sample | Info | str | None:
        if not line:
            return ""
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            return None
        if text.startswith("#"):
            return Info(parse_info_text(text[1:]))
        parts = split_fields(text)
        if not self._readings_started and len(parts) >= 3 and all(HEADER_NAME.fullmatch(p) for p in parts):
            return ""  # a header line of column names
        if len(parts) not in (3, 4):
            return None
        try:
            x, y, z = (float(p) for p in parts[:3])
        except ValueError:
            return None
        xyz = (x, y, z)
        if not all(abs(v) < float("inf") for v in xyz):
            return None
        return Sample(None, xyz, parts[3] if len(parts) == 4 else None)


HEADER_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-/()]*")


def split_fields(line: str) -> list[str]:
    """A text line's fields: comma-separated if it has a comma, else tab-separated if it has a
    tab, else separated by runs of spaces; a label may hold spaces only with commas or tabs."""
    line = line.strip()
    if "," in line:
        return [p.strip() for p in line.split(",")]
    if "\t" in line:
        return [p.strip() for p in line.split("\t")]
    return line.split()


def detect_format(head: bytes) -> str | None:
    """'binary' when the bytes hold an intact frame, 'text' when they hold a numeric line, else None."""
    probe = FrameDecoder()
    if probe.feed(head):
        return "binary"
    probe_text = TextDecoder()
    if any(isinstance(item, Sample) for item in probe_text.feed(head)):
        return "text"
    return None


class Reader:
    """Detects the format from the first bytes (unless given), then decodes."""

    HEAD_LIMIT = 4096
    DOUBT_BYTES = 512  # a format given by hand that yields no sample in this many bytes is questioned

    def __init__(self, fmt: str, channels: int):
        if fmt not in ("auto", "binary", "text"):
            raise UserError(f"--format must be auto, binary or text, not {fmt!r}")
        self.fmt = None if fmt == "auto" else fmt
        self.channels = channels
        self.decoder = None if self.fmt is None else _decoder(self.fmt)
        self.head = b""
        self.sampled = fmt == "auto"  # whether a sample has shown the format right (auto: it was seen)

    def feed(self, data: bytes) -> list[Sample | Info]:
        if self.decoder is not None:
            items = self.decoder.feed(data)
            if not self.sampled:
                self._doubt(data, items)
            return items
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

    def _doubt(self, data: bytes, items: list[Sample | Info]) -> None:
        """The format the user gave, before its first sample: once DOUBT_BYTES have yielded none,
        one line that says what the bytes look like, instead of a stream of bad frames."""
        self.sampled = any(isinstance(item, Sample) for item in items)
        self.head = (self.head + data)[:self.HEAD_LIMIT]
        if self.sampled or len(self.head) < self.DOUBT_BYTES:
            return
        looks = detect_format(self.head)
        if looks == self.fmt:  # the format given, without a sample yet (a long info, say): no doubt left
            self.sampled = True
            return
        seen = f"{len(self.head)} bytes ({self.head[:12].hex(' ')} ...)"
        if looks is None:
            raise DataError(f"--format {self.fmt}: no sample in the first {seen}, which look like neither edge-har binary "
                            "frames nor x,y,z text lines; check --baud and the board's output")
        kind = "edge-har binary frames" if looks == "binary" else "x,y,z text lines"
        raise DataError(f"--format {self.fmt}: no sample in the first {seen}, which look like {kind}; give "
                        f"--format {looks} or --format auto")


def _decoder(fmt: str) -> FrameDecoder | TextDecoder:
    return FrameDecoder() if fmt == "binary" else TextDecoder()


def _check_text_channels(head: bytes, channels: int) -> None:
    lines = [line for line in head.decode("ascii", "replace").splitlines()[:-1] if line and not line.startswith("#")]
    counts = set()
    for line in lines:
        parts = split_fields(line)
        try:
            [float(p) for p in parts]
        except ValueError:
            continue
        counts.add(len(parts))
    if len(lines) >= 3 and counts and not counts & {channels, channels + 1}:
        raise DataError(f"the stream sends {min(counts)} values per line; the model takes {channels} "
                        f"channels (x,y,z or x,y,z,label)")
