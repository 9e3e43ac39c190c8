"""The package's shape holds: layers import each other one way (the import contracts in
pyproject.toml, checked by `make lint`), and no module hides an import of edge-har inside a
function, where the contracts and a reader would miss it. The CLI alone imports lazily: it is
where the host install (no torch) and the training install meet."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "edge_har"
LAZY_BY_DESIGN = {PACKAGE / "cli.py"}


def _function_level_imports(path: Path) -> list[str]:
    found = []
    for function in ast.walk(ast.parse(path.read_text())):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for node in ast.walk(function):
            relative = isinstance(node, ast.ImportFrom) and node.level > 0
            absolute = isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                name.startswith("edge_har") for name in
                ([node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]))
            if relative or absolute:
                found.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    return found


@pytest.mark.parametrize("path", sorted(set(PACKAGE.rglob("*.py")) - LAZY_BY_DESIGN),
                         ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_module_imports_edge_har_inside_a_function(path):
    assert _function_level_imports(path) == []


def test_every_layer_has_a_public_face():
    for layer in (p for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith("_")):
        face = ast.parse((layer / "__init__.py").read_text())
        names = [n for n in face.body if isinstance(n, ast.Assign) and n.targets[0].id == "__all__"]
        assert names and ast.get_docstring(face), f"{layer.name}/__init__.py needs a docstring and __all__"
