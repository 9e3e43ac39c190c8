"""One rule for every output (core/files.py): an existing file or folder, edge-har's own from last
time included, is replaced only with --force, and the refusal says what is there; nothing partial
is left when a command fails; --force exists wherever a message recommends it."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
from pathlib import Path

import typer

import edge_har as package
from edge_har.cli import app

from .conftest import run_copy
from .test_cli import EDGE_HAR, SUBPROCESS_LIMIT_S, _assert_clean_failure, edge_har
from .test_wire_and_files import checksum

WRITERS = ("train", "export", "calibrate", "adapt", "record", "firmware", "stream", "parity")


def _options() -> dict[str, set[str]]:
    """Each command's options, as click knows them."""
    group = typer.main.get_command(app)
    return {name: {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
            for name, command in group.commands.items()}  # type: ignore[attr-defined]


def test_every_command_that_writes_has_force():
    options = _options()
    assert [name for name in WRITERS if "--force" not in options[name]] == []


# Flags of other programs that edge-har's messages name (`ray start --head`, pip's, the compilers')
OTHER_PROGRAMS = {"--head", "--address", "--index-url", "--no-deps", "--node-ip-address", "--port-retries"}


def _flags_in_messages() -> dict[str, list[str]]:
    """Every --flag written in a string of edge-har's source (docstrings aside), and the files it is in."""
    found: dict[str, list[str]] = {}
    for path in Path(package.__file__).parent.rglob("*.py"):
        tree = ast.parse(path.read_text())
        docstrings = {id(node.value) for node in ast.walk(tree) if isinstance(node, ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]*[a-z0-9]", node.value):
                    found.setdefault(flag, []).append(path.name)
    return found


def test_every_flag_a_message_recommends_exists():
    known = set().union(*_options().values()) | OTHER_PROGRAMS | {"--help"}
    unknown = {flag: files for flag, files in _flags_in_messages().items() if flag not in known}
    assert unknown == {}


def test_export_twice_refuses_and_keeps_the_users_files(exported, tmp_path):
    run = run_copy(exported, tmp_path / "run")
    shutil.copytree(exported / "export", run / "export")
    (run / "export" / "NOTES.txt").write_text("mine")
    before = {str(p): checksum(p) for p in (run / "export").rglob("*") if p.is_file()}
    result = edge_har("export", str(run), "--int8")
    _assert_clean_failure(result, f"{run / 'export'} already exists (an export edge-har wrote at")
    assert "--force" in result.stderr
    assert {str(p): checksum(p) for p in (run / "export").rglob("*") if p.is_file()} == before


def test_parity_refuses_to_replace_its_report(exported, tmp_path):
    (tmp_path / "parity.json").write_text("{}")
    result = edge_har("parity", str(exported), "--out", str(tmp_path))
    _assert_clean_failure(result, "parity.json already exists (a parity report edge-har wrote at")
    assert (tmp_path / "parity.json").read_text() == "{}"


def test_adapt_refuses_an_existing_out_and_offers_the_force_it_has(exported, tmp_path):
    (tmp_path / "adapted").mkdir()
    result = edge_har("adapt", str(exported), "--data", "synthetic:2:60", "--out", str(tmp_path / "adapted"))
    _assert_clean_failure(result, "already exists (a folder from")
    assert "--force" in result.stderr and "--force" in edge_har("adapt", "--help").stdout


def test_firmware_refuses_an_existing_folder_and_a_file(exported, tmp_path):
    (tmp_path / "fw").mkdir()
    (tmp_path / "fw" / "recording.h").write_text("/* mine */")
    _assert_clean_failure(edge_har("firmware", str(exported), "--subject", "sim6", "--out", str(tmp_path / "fw")),
                          "already exists (a firmware build edge-har wrote at")
    assert (tmp_path / "fw" / "recording.h").read_text() == "/* mine */"
    (tmp_path / "notes").write_text("mine")
    _assert_clean_failure(edge_har("firmware", str(exported), "--subject", "sim6", "--out", str(tmp_path / "notes")),
                          "is a file, not a folder")
    assert (tmp_path / "notes").read_text() == "mine"


def test_firmware_without_a_cross_compiler_leaves_nothing(exported, tmp_path):
    """The host's compiler and make are there, the Arm compiler is not: refused before any file is written."""
    tools = tmp_path / "bin"
    tools.mkdir()
    for name in ("make", "cc", "gcc"):
        if shutil.which(name):
            (tools / name).symlink_to(shutil.which(name))
    out = tmp_path / "fw"
    result = subprocess.run([EDGE_HAR, "firmware", str(exported), "--subject", "sim6", "--out", str(out),
                             "--target", "pc,m4"], capture_output=True, text=True, timeout=SUBPROCESS_LIMIT_S,
                            env={**os.environ, "PATH": str(tools)})
    _assert_clean_failure(result, "arm-none-eabi-gcc is not installed")
    assert not out.exists() and not list(tmp_path.glob(".fw*"))
