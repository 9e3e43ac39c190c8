"""What `stream` shows while it runs: the activity, link health, agreement and class bars."""

from __future__ import annotations

from typing import Literal

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .session import StreamSession

PERIOD_S = 0.1  # rebuild the view at most this often, not once per read


class LiveView:
    """A rich Live display, or nothing at all when `enabled` is false (tests, logs)."""

    def __init__(self, console: Console, enabled: bool):
        self.console = console
        self.live = Live(console=console, refresh_per_second=8) if enabled else None
        self.shown_at = float("-inf")

    def __enter__(self) -> LiveView:
        if self.live:
            self.live.__enter__()
        return self

    def __exit__(self, *exc) -> Literal[False]:
        if self.live:
            self.live.__exit__(*exc)
            if not self.console.is_terminal:
                self.console.line()  # a non-terminal's last live frame ends without a newline
        return False

    def update(self, session: StreamSession, fmt: str | None, now: float, seconds: float) -> None:
        """Redraw, at most once every PERIOD_S."""
        if self.live and now - self.shown_at >= PERIOD_S:
            self.shown_at = now
            self.live.update(render(session, fmt, seconds))


def render(session: StreamSession, fmt: str | None, seconds: float) -> Group:
    stats, latest = session.stats, session.latest
    summary = stats.as_dict(seconds)
    head = Table.grid(padding=(0, 2))
    activity = session.classes[latest.shown] if latest else "waiting for data"
    head.add_row(Text(_named_moment(session), style="bold"), Text(activity, style="bold cyan"))
    if latest and latest.int8_decoded is not None:
        head.add_row("this step alone", session.classes[latest.int8])
    head.add_row("format", fmt or "detecting")
    head.add_row("samples/s", f"{summary['samples_per_second']:.0f} ({stats.samples} samples)")
    head.add_row("lost samples", f"{stats.lost_samples}  (bad frames {stats.bad_frames}, resets {stats.resets}, "
                                 f"reconnects {stats.reconnects})")
    if latest and latest.device is not None:
        host = f"host fp32 {session.classes[latest.fp32]}" if latest.fp32 is not None else ""
        head.add_row("device says", f"{session.classes[latest.device]}   {host}")
    if summary["int8_fp32_agreement"] is not None and session.fp32:
        head.add_row("int8 vs fp32", f"{summary['int8_fp32_agreement']:.4f} agreement")
    if summary.get("device_fp32_agreement") is not None and session.fp32:
        head.add_row("device vs fp32", f"{summary['device_fp32_agreement']:.4f} agreement ({stats.device_steps} steps)")
    if summary["int8_accuracy"] is not None:
        fp32 = f", fp32 {summary['fp32_accuracy']:.4f}" if session.fp32 else ""
        head.add_row("accuracy", f"int8 {summary['int8_accuracy']:.4f}{fp32} ({stats.labelled} labelled steps)")
    if summary.get("decoded_int8_accuracy") is not None:
        head.add_row("decoded accuracy", f"int8 {summary['decoded_int8_accuracy']:.4f}")
    bars = Table.grid(padding=(0, 1))
    if latest:
        for name, p in zip(session.classes, latest.probabilities):
            bars.add_row(name, "#" * int(round(p * 30)), f"{p:.2f}")
    return Group(head, bars)


def _named_moment(session: StreamSession) -> str:
    """What the activity row names: now, or the moment the model's label delay reaches back to."""
    delay, rate = session.export.label_delay_steps, session.export.sample_rate_hz
    if not delay:
        return "activity"
    return f"activity {delay / rate:.2g} s ago" if rate else f"activity {delay} steps ago"
