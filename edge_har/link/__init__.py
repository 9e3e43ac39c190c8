"""The serial link: frames and text lines, the port (a device or a pyserial URL), a board's
samples as the model takes them, and `record`. No torch."""

from .board import ArrivalRate, BoardInput, Step
from .frames import (
    SYNTHETIC_DECLARATION,
    FrameDecoder,
    Info,
    Reader,
    Sample,
    TextDecoder,
    crc16,
    detect_format,
    encode_info,
    encode_sample,
)
from .port import open_port, read_available, reopen
from .record import record

__all__ = [
    "ArrivalRate", "BoardInput", "FrameDecoder", "Info", "Reader", "SYNTHETIC_DECLARATION", "Sample", "Step",
    "TextDecoder", "crc16", "detect_format", "encode_info", "encode_sample", "open_port", "read_available",
    "record", "reopen"
]
