"""Imports go one way: domain ← engine ← store/runtime/channels/reporting ← api ← web ← cli.

See the layer table in docs/architecture.md.

A module's layer is its top-level package, so sub-packages (`domain/workflow`,
`channels/voice`) are held to their layer's rule too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "switchboard"
#: The web UI sits above the API (it reuses its guards and helpers; the API never imports it),
#: and the CLI above everything, since `serve` runs both.
RANK = {
    "domain": 0,
    "engine": 1,
    "store": 2,
    "runtime": 2,
    "channels": 2,
    "reporting": 2,
    "api": 3,
    "web": 4,
    "cli": 5,
}
FORBIDDEN_IN_DOMAIN = {"asyncio", "sqlite3", "socket", "fastapi", "sqlalchemy", "pydantic", "time"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _layer(path: Path) -> str:
    return path.relative_to(SRC).parts[0]


MODULES = sorted(p for p in SRC.rglob("*.py") if _layer(p) in RANK)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_no_import_goes_up(path: Path) -> None:
    layer = _layer(path)
    for name in _imports(path):
        parts = name.split(".")
        if parts[0] == "switchboard" and len(parts) > 1 and parts[1] in RANK:
            assert RANK[parts[1]] <= RANK[layer], f"{layer} module imports {name}"


@pytest.mark.parametrize(
    "path", [p for p in MODULES if _layer(p) == "domain"], ids=lambda p: str(p.relative_to(SRC))
)
def test_domain_is_pure(path: Path) -> None:
    bad = {n for n in _imports(path) if n.split(".")[0] in FORBIDDEN_IN_DOMAIN}
    assert not bad, f"{path.name} imports {sorted(bad)}"


def test_every_package_has_a_layer() -> None:
    packages = {p.parent.name for p in SRC.glob("*/__init__.py")}
    assert packages <= set(RANK), f"unranked packages: {sorted(packages - set(RANK))}"
