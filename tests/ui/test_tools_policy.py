"""Per-tool policy in the Tools tab and its defaults from MCP annotations: built-ins declare readOnlyHint
(Allow); a plugin that declares `destructive=True`, or says its module changes things, starts at Ask."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.tools.registry import ToolRegistry
from app.ui.tools_model import COL_NAME, COL_POLICY
from app.ui.tools_tab import ToolsTab

pytestmark = pytest.mark.gui

PLUGIN = '''
from app.tools.decorator import tool

@tool(destructive=True)
def delete_note(name: str) -> str:
    """Delete a note."""
    return name

@tool(read_only=True)
def peek(name: str) -> str:
    """Read a note."""
    return name

def plain(x: int) -> int:
    """Says nothing about itself."""
    return x
'''

CHANGER = '''
MCP_TRAY_CHANGES_THINGS = True

def rename(old: str, new: str) -> str:
    """Rename something."""
    return new
'''


@pytest.fixture
def registry(data_dir: Path) -> ToolRegistry:
    tools = data_dir / "tools"
    tools.mkdir()
    (tools / "notes.py").write_text(PLUGIN, encoding="utf-8")
    (tools / "changer.py").write_text(CHANGER, encoding="utf-8")
    return ToolRegistry(data_dir)


def test_defaults_follow_the_annotations(registry: ToolRegistry) -> None:
    policies = {r.name: r.policy for r in registry.rows() if r.error is None}
    assert policies["delete_note"] == "ask" and policies["rename"] == "ask"
    assert policies["peek"] == policies["plain"] == policies["add"] == policies["read_file"] == "allow"
    spec = registry.spec("delete_note")
    assert spec is not None and spec.tool.annotations is not None and spec.tool.annotations.destructive_hint
    add = registry.spec("add")
    assert add is not None and add.tool.annotations is not None and add.tool.annotations.read_only_hint


def test_choosing_a_policy_in_the_tab_saves_it(qtbot: QtBot, registry: ToolRegistry, data_dir: Path) -> None:
    tab = ToolsTab(registry)
    qtbot.addWidget(tab)
    rows = {tab.model.index(r, COL_NAME).data(): r for r in range(tab.model.rowCount())}
    assert tab.model.index(rows["delete_note"], COL_POLICY).data() == "Ask"
    assert "Default for this tool: Ask" in tab.model.index(rows["delete_note"], COL_POLICY).data(
        Qt.ItemDataRole.ToolTipRole)
    box = tab.policy_boxes["add"]
    assert box.currentData() == "allow"
    box.setCurrentIndex(box.findData("block"))
    assert tab.wait()  # written on the tab's worker, not on the GUI thread
    assert registry.policy("add") == "block"
    assert json.loads((data_dir / "tools.json").read_text())["policies"] == {"add": "block"}
    qtbot.waitUntil(lambda: tab.model.index(rows["add"], COL_POLICY).data() == "Block")
    tab.policy_boxes["delete_note"].setCurrentIndex(tab.policy_boxes["delete_note"].findData("allow"))
    assert tab.wait()
    assert ToolRegistry(data_dir).policy("delete_note") == "allow"  # a new process reads the choice
