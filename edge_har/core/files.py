"""Where commands write, checked before any work, and writing so that a reader never sees half
a file, even after a crash.

One rule for every command's destination (`check_destination`): an existing file or folder is
refused unless the command was told to replace it (`--force`); the nearest existing folder on
the way must be a folder, writable, with room for what the command writes. Disk errors that
still happen mid-write (a disk that fills meanwhile) become one line too (`disk_error`).
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import UserError

MB = 1 << 20
DISK_ERRORS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
               errno.EROFS: "the file system is read-only", errno.EACCES: "permission denied",
               errno.EPERM: "permission denied"}


def check_destination(path: Path, option: str, *, folder: bool = False, force: bool = False,
                      need_bytes: int = MB, make_parents: bool | None = None) -> None:
    """Refuse, before any work, a destination the command could not finish writing: an existing
    file or folder (unless `force`), a folder of the wrong kind, a place that cannot be written or
    lacks `need_bytes` of room. Folders get their missing parents made; files need their folder
    (`make_parents` says otherwise)."""
    make_parents = folder if make_parents is None else make_parents
    hint = f"choose another {option}" + (", remove it or add --force" if not force else "")
    if path.is_dir() and not folder:
        raise UserError(f"{path} is a folder; give {option} a file name inside it")
    if path.exists() and not path.is_dir() and folder:
        raise UserError(f"{path} is a file, not a folder; {hint}")
    if path.exists() and not force:
        raise UserError(f"{path} already exists ({described(path)}); {hint}")
    existing = next(p for p in (path.parent, *path.parent.parents) if p.exists())
    if not existing.is_dir():
        raise UserError(f"{path}: {existing} is a file, not a folder; choose another {option}")
    if not make_parents and existing != path.parent:
        raise UserError(f"{path}: the folder {path.parent} does not exist; create it or choose another {option}")
    _check_writable(existing, path, option)
    free = shutil.disk_usage(existing).free
    if free < need_bytes:
        raise UserError(f"{path}: only {free / MB:.1f} MB free on its disk, and this writes about "
                        f"{need_bytes / MB:.0f} MB; free some space or choose another {option}")


# What edge-har itself writes, by the file that marks it: a destination that holds one is named as
# edge-har's own output from last time, so that the user knows what --force would replace.
OWN_FOLDERS = {"metrics.json": "a training run", "export.json": "an export", "recording.h": "a firmware build"}
OWN_FILES = {"parity.json": "a parity report", "parity.png": "a parity plot", "stream_summary.json": "a stream summary"}


def described(path: Path) -> str:
    """What an existing destination is: edge-har's own output (and when it was written), or a file
    or folder of the user's."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.lstat().st_mtime))
    if not path.is_dir():
        kind = OWN_FILES.get(path.name)
        return f"{kind} edge-har wrote at {when}" if kind else f"a file of {path.lstat().st_size} bytes from {when}"
    kind = next((kind for marker, kind in OWN_FOLDERS.items() if (path / marker).is_file()), None)
    if kind is None:
        return f"a folder from {when}, not written by edge-har"
    return f"{kind} edge-har wrote at {when}"


def _check_writable(folder: Path, path: Path, option: str) -> None:
    """Write a scrap file there: permission bits do not stop root, a read-only mount does."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".edge-har-probe-"):
            pass
    except OSError as err:
        why = DISK_ERRORS.get(err.errno or 0, err.strerror)
        raise UserError(f"{path}: cannot write in {folder} ({why}); choose another {option}") from None


def disk_error(err: OSError) -> UserError | None:
    """A write that failed for want of room or rights, as one line naming the file; None for
    other errors (those are bugs, not the user's disk)."""
    why = DISK_ERRORS.get(err.errno or 0)
    if why is None:
        return None
    where = f"{err.filename}: " if err.filename else ""
    return UserError(f"{where}{why}; nothing half-written was kept. Free some space (or fix the rights) and run "
                     "the command again")


def check_new_folder(final: Path, option: str = "--out", force: bool = False, need_bytes: int = MB) -> None:
    """A folder a command creates (`check_destination` for folders)."""
    check_destination(final, option, folder=True, force=force, need_bytes=need_bytes)


def check_new_file(path: Path, option: str = "--out", force: bool = False, need_bytes: int = MB) -> None:
    """A file a command creates in an existing folder (`check_destination` for files)."""
    check_destination(path, option, force=force, need_bytes=need_bytes)


@contextlib.contextmanager
def staged_dir(final: Path, replace: bool = False):
    """Yield a temporary sibling folder; move it to `final` only if the block succeeds.
    An existing `final` is an error, or with `replace` is swapped out only at that moment."""
    if not replace:
        check_new_folder(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".{final.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        yield staging
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def staged_file(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling name; it replaces `final` only if the block succeeds."""
    tmp = final.with_name(f".{final.name}.partial-{os.getpid()}")
    try:
        yield tmp
        tmp.replace(final)
    finally:
        tmp.unlink(missing_ok=True)


def write_json(path: Path, content: dict) -> None:
    """Write JSON through a temporary name so a reader never sees half a file."""
    with staged_file(path) as tmp:
        tmp.write_text(json.dumps(content, indent=2, default=_jsonable))


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


@contextlib.contextmanager
def transient_file(path: Path) -> Iterator[Path]:
    """`path` for the length of a `with` block, removed after it whatever happens."""
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)
