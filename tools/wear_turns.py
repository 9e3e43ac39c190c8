"""Was the device worn turned between a subject's recordings? Per recording and activity, the
device's tilt from its vertical axis and how far the tilt's azimuth moved from the same activity
in the subject's first recording (`edge_har/orientation.py`):

    .venv/bin/python tools/wear_turns.py DATA [--classes A,B,...]

A recording whose azimuth moved more than 90 degrees in most of its activities is marked turned:
the device sat turned about the vertical (a clip worn facing the other way). Such recordings can
be named to `tools/adapt_screen.py --turn-back` to measure what knowing the turn would give.
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.table import Table

from edge_har.data.dataset import keep_classes
from edge_har.data.loading import load_data
from edge_har.data.orientation import TURNED_DEG, vertical_axis, wear_turns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data")
    parser.add_argument("--classes", help="comma-separated activities to compare (default: all)")
    args = parser.parse_args()
    data = load_data(args.data)
    if args.classes:
        data = keep_classes(data, args.classes.split(","))
    turns = wear_turns(data)
    table = Table(title=f"{args.data}: tilt from the vertical axis ({'xyz'[vertical_axis(data)]}) and how far its "
                        f"azimuth moved from the subject's first recording (tilt/moved), degrees")
    for column in ["recording", *data.classes, f"turned (median moved > {TURNED_DEG:g})"]:
        table.add_column(column)
    for turn in turns:
        cells = [f"{turn.tilt_deg[c]:.0f}/{turn.azimuth_moved_deg[c]:.0f}" if c in turn.azimuth_moved_deg else ""
                 for c in data.classes]
        table.add_row(turn.key, *cells, "[bold red]turned[/]" if turn.turned else "")
    console = Console(width=max(Console().width, 140))
    console.print(table)
    turned = [t.key for t in turns if t.turned]
    console.print(f"turned: {','.join(turned) or 'none'}")


if __name__ == "__main__":
    main()
