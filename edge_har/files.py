"""Writing files and folders so that a reader never sees half of one, even after a crash."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from .errors import UserError


def check_new_folder(final: Path, option: str = "--out") -> None:
    """Refuse, before any work, a folder that exists or whose parent is not a folder."""
    if final.exists():
        raise UserError(f"{final} already exists; choose another {option} or remove it")
    parent = next((p for p in final.parents if p.exists()), None)
    if parent is not None and not parent.is_dir():
        raise UserError(f"{final}: {parent} is a file, not a folder; choose another {option}")


def check_new_file(path: Path, option: str = "--out") -> None:
    """Refuse, before any work, a file that exists or whose folder does not."""
    if path.is_dir():
        raise UserError(f"{path} is a folder; give {option} a file name inside it")
    if path.exists():
        raise UserError(f"{path} already exists; choose another {option} or remove it")
    if not path.parent.is_dir():
        raise UserError(f"{path}: the folder {path.parent} does not exist; create it or choose another {option}")


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


def write_json(path: Path, content: dict) -> None:
    """Write JSON through a temporary name so a reader never sees half a file."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(content, indent=2, default=_jsonable))
    tmp.replace(path)


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
