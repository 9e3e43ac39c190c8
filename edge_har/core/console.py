"""The one place the terminal's consoles are made: every text they print is printed as given.

User text (a path, a subject's name, a label, a `--data` spec) reaches almost every message. rich
would read `[train]` in a path as markup and drop it, and `:-1:` in `synthetic:-1` as an emoji
code. So the consoles read neither; styles are given as `style=` or `Text` parts, never inline."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text


def user_console(stderr: bool = False) -> Console:
    """A console that reads no markup, no emoji codes and highlights nothing in what it prints."""
    return Console(stderr=stderr, markup=False, emoji=False, highlight=False)


def styled(*parts: str | tuple[str, str]) -> Text:
    """Text from plain parts and (text, style) pairs: `styled(("error:", "bold red"), " ", message)`."""
    return Text.assemble(*parts)


def job_progress(console: Console, counts: bool = True, transient: bool = False) -> Progress:
    """Bars for long work: a job's name, its bar, (done of total,) elapsed time and its figures
    (the task field `stats`), the names and figures printed as given."""
    columns = [TextColumn("{task.description}", markup=False), BarColumn(),
               *([MofNCompleteColumn()] if counts else []), TimeElapsedColumn(),
               TextColumn("{task.fields[stats]}", markup=False)]
    return Progress(*columns, console=console, transient=transient)
