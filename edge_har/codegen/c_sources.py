"""The hand-written C that generated files carry, kept as real files in codegen/c/ (package data)."""

from __future__ import annotations

from importlib.resources import files


def c_source(name: str) -> str:
    """The text of codegen/c/`name`."""
    return files("edge_har.codegen").joinpath("c", name).read_text()
