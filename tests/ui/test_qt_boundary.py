"""Only app/ui imports Qt: the core runs headless (`mcp-tray serve`) and its tests never load PySide6."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui
APP = Path(__file__).resolve().parents[2] / "app"


def qt_imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.append(node.module)
    return [n for n in names if n.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6")]


def test_only_app_ui_imports_qt() -> None:
    offenders = {
        str(p.relative_to(APP)): qt_imports(p)
        for p in APP.rglob("*.py")
        if "ui" not in p.relative_to(APP).parts[:1] and qt_imports(p)
    }
    assert offenders == {}
    assert qt_imports(APP / "ui" / "tray.py"), "the check must see the imports it looks for"
