"""The JSON summary a stream leaves behind (DESIGN.md section 4), and its one-line printout."""

from __future__ import annotations

from rich.console import Console

from ..link.frames import Reader
from .session import StreamSession

SUMMARY_FILE = "stream_summary.json"  # in the run folder, unless --summary says otherwise


def summarize(session: StreamSession, reader: Reader, about: dict, seconds: float) -> dict:
    """`about` names the port, run, backend and engine."""
    decoder_stats = reader.decoder.stats if reader.decoder else None
    if decoder_stats:
        session.stats.bad_frames = decoder_stats.bad_crc
        session.stats.skipped_bytes = decoder_stats.skipped_bytes
    return {**about, "format": reader.fmt, "rate_hz": session.board.rate_hz, **session.board.about(),
            "classes": session.classes, "label_delay_steps": session.export.label_delay_steps,
            **session.stats.as_dict(seconds)}


def print_summary(console: Console, summary: dict) -> None:
    parts = [f"{summary['samples']} samples in {summary['seconds']:.1f} s ({summary['samples_per_second']:.0f}/s)",
             *([f"converted {summary['rate_conversion']} into {summary['steps']} steps"]
               if summary["rate_conversion"] else []),
             f"lost {summary['lost_samples']}", f"bad frames {summary['bad_frames']}",
             f"resets {summary['resets']}", f"reconnects {summary['reconnects']}"]
    if summary["int8_fp32_agreement"] is not None:
        parts.append(f"int8/fp32 agreement {summary['int8_fp32_agreement']:.4f}")
    if summary["int8_accuracy"] is not None:
        parts.append(f"live accuracy int8 {summary['int8_accuracy']:.4f}"
                     + (f", fp32 {summary['fp32_accuracy']:.4f}" if summary["fp32_accuracy"] is not None else ""))
    if summary.get("device_fp32_agreement") is not None:
        parts.append(f"device/fp32 agreement {summary['device_fp32_agreement']:.4f} (the board's own model)")
    if summary.get("decoded_int8_fp32_agreement") is not None:
        parts.append(f"decoded int8/fp32 agreement {summary['decoded_int8_fp32_agreement']:.4f}")
    if summary.get("decoded_int8_accuracy") is not None:
        parts.append(f"decoded accuracy int8 {summary['decoded_int8_accuracy']:.4f}")
    console.print("Stream summary: " + ", ".join(parts))
