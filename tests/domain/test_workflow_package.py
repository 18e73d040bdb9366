"""The workflow package stays pure domain code, and its documentation stays current."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

from switchboard.domain.workflow.describe import BEGIN_MARK, END_MARK, catalogue_markdown

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "switchboard" / "domain" / "workflow"


def test_imports_only_the_standard_library_and_the_domain() -> None:
    """tests/test_layers.py looks at layer folders only; this covers the subpackage."""
    stdlib = set(sys.stdlib_module_names)
    for path in sorted(PACKAGE.glob("*.py")):
        for item in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(item, ast.Import):
                names = [alias.name for alias in item.names]
            elif isinstance(item, ast.ImportFrom) and item.module and item.level == 0:
                names = [item.module]
            for name in names:
                top = name.split(".")[0]
                assert top in stdlib or name.startswith("switchboard.domain"), (path.name, name)
                assert top not in {"asyncio", "sqlite3", "socket", "time"}, (path.name, name)


def test_docs_carry_the_current_catalogue() -> None:
    text = (ROOT / "docs" / "workflows.md").read_text()
    begin = text.index(BEGIN_MARK) + len(BEGIN_MARK)
    end = text.index(END_MARK)
    assert text[begin:end].strip() == catalogue_markdown().strip(), (
        "docs/workflows.md is out of date; paste switchboard.domain.workflow.describe."
        "catalogue_markdown() between the markers"
    )
