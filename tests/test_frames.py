"""The wire format: the decoder never raises, never returns a damaged frame, and recovers every
intact one; the reference C encoder's output decodes exactly."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge_har.link.frames import FrameDecoder, Info, Sample, TextDecoder, crc16, detect_format, encode_info, encode_sample

FIRMWARE = Path(__file__).resolve().parents[1] / "firmware_host"

int16 = st.integers(-32768, 32767)
frames = st.tuples(st.integers(0, 65535), int16, int16, int16, st.one_of(st.none(), st.integers(0, 254)))


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0] + points, points + [len(data)])]


def _decode(data: bytes, cuts: list[int]) -> tuple[list, FrameDecoder]:
    decoder = FrameDecoder()
    items = [item for chunk in _chunks(data, cuts) for item in decoder.feed(chunk)]
    return items, decoder


def test_crc_is_ccitt_false():
    assert crc16(b"123456789") == 0x29B1  # the catalogue check value


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.lists(st.integers(0, 400), max_size=8))
def test_never_raises_and_only_returns_frames_that_pass_their_crc(data, cuts):
    items, decoder = _decode(data, cuts)
    for item in items:
        assert isinstance(item, (Sample, Info))
        if isinstance(item, Sample):
            x, y, z = (int(v) for v in item.xyz)
            assert encode_sample(item.seq, x, y, z, item.label) in data


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(frames, st.binary(max_size=30)), max_size=20), st.binary(max_size=30),
       st.lists(st.integers(0, 800), max_size=10))
def test_recovers_every_intact_frame_between_garbage(pairs, lead, cuts):
    stream = lead + b"".join(encode_sample(*frame) + garbage for frame, garbage in pairs)
    items, _ = _decode(stream, cuts)
    got = [(s.seq, *(int(v) for v in s.xyz), s.label) for s in items if isinstance(s, Sample)]
    assert got == [frame for frame, _ in pairs]


def test_a_false_info_sync_does_not_hold_back_the_next_frame():
    items, _ = _decode(b"\xaaV" + encode_sample(0, 0, 0, 0), [])
    assert items == [Sample(0, (0.0, 0.0, 0.0))]


def test_counts_damage():
    good = encode_sample(7, 1, 2, 3)
    damaged = bytearray(encode_sample(8, 4, 5, 6))
    damaged[6] ^= 0x40
    items, decoder = _decode(b"junk" + good + bytes(damaged) + good, [])
    assert [s.seq for s in items] == [7, 7]
    assert decoder.stats.bad_crc >= 1 and decoder.stats.skipped_bytes >= 4 + len(damaged)


def test_info_frames_and_text_lines():
    items, _ = _decode(encode_info({"rate_hz": 50, "scale": 0.001}) + encode_sample(0, 1, 2, 3, 4), [5])
    assert items == [Info({"rate_hz": "50", "scale": "0.001"}), Sample(0, (1.0, 2.0, 3.0), 4)]
    text = TextDecoder()
    lines = text.feed(b"# rate_hz=25\n0.1,0.2,0.3\nnot,a,number\n1,2,3,Walking\n4,5")
    assert lines == [Info({"rate_hz": "25"}), Sample(None, (0.1, 0.2, 0.3)), Sample(None, (1.0, 2.0, 3.0), "Walking")]
    assert text.stats.bad_crc == 1
    assert text.feed(b",6\n") == [Sample(None, (4.0, 5.0, 6.0))]


@pytest.mark.parametrize("head, expected", [
    (b"\x00\x13" + encode_sample(1, 2, 3, 4), "binary"),
    (b"0.1,0.2,0.98\n0.1,0.2,0.97\n", "text"),
    (b"\xff\xfe\x00garbage", None),
])
def test_format_detection(head, expected):
    assert detect_format(head) == expected


@pytest.mark.skipif(shutil.which(os.environ.get("CC", "gcc")) is None or shutil.which("make") is None,
                    reason="no C compiler (gcc, or $CC) or make on this machine: the C encoder cannot be built")
def test_c_reference_encoder_decodes_exactly(tmp_path):
    build = tmp_path / "build"
    subprocess.run(["make", "-s", "-C", str(FIRMWARE), f"BUILD={build}"], check=True)
    readings = [(i * 37 % 2000 - 1000, -i, 32767 - i, i % 5 if i % 3 else None) for i in range(300)]
    lines = "".join(f"{x} {y} {z}" + (f" {label}" if label is not None else "") + "\n" for x, y, z, label in readings)
    result = subprocess.run([str(build / "host_encoder"), "1", "rate_hz=50 scale=0.001"], input=lines.encode(),
                            capture_output=True, check=True)
    items, decoder = _decode(result.stdout, [17, 500, 1201])
    assert items[0] == Info({"rate_hz": "50", "scale": "0.001"})
    assert [(s.seq, *(int(v) for v in s.xyz), s.label) for s in items[1:]] == [
        (i, x, y, z, label) for i, (x, y, z, label) in enumerate(readings)]
    assert decoder.stats.bad_crc == 0 and decoder.stats.skipped_bytes == 0
