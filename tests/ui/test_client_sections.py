"""Settings' client boxes: Claude Desktop through the chosen bridge, and Cursor / VS Code / Claude Code set up."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import Qt, QThreadPool
from pytestqt.qtbot import QtBot

from app.ui import dialogs
from app.ui.claude_section import ClaudeSection
from app.ui.other_clients import OtherClientsSection

pytestmark = pytest.mark.gui
URL = "http://127.0.0.1:8787/mcp"


def test_claude_entry_uses_the_chosen_bridge(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dialogs, "tell", lambda *a, **k: None)
    config = tmp_path / "Claude" / "claude_desktop_config.json"
    config.parent.mkdir()
    config.write_text(json.dumps({"mcpServers": {"other": {"command": "x"}}, "theme": "dark"}))
    section = ClaudeSection(lambda: URL, QThreadPool.globalInstance(), config)
    qtbot.addWidget(section)
    section.via.setCurrentIndex(section.via.findData("bridge"))
    section.configure()
    qtbot.waitUntil(lambda: "mcp-tray" in json.loads(config.read_text())["mcpServers"], timeout=5000)
    doc = json.loads(config.read_text())
    assert doc["mcpServers"]["other"] == {"command": "x"} and doc["theme"] == "dark"
    assert doc["mcpServers"]["mcp-tray"]["args"][-2:] == ["bridge", URL]

    section.via.setCurrentIndex(section.via.findData("mcp-remote"))
    section.configure()
    qtbot.waitUntil(lambda: "mcp-remote" in json.loads(config.read_text())["mcpServers"]["mcp-tray"]["args"],
                    timeout=5000)


def test_other_clients_show_state_and_set_up(qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    told: list[str] = []
    monkeypatch.setattr(dialogs, "tell", lambda parent, title, text, warning=False: told.append(title))
    paths = {"cursor": tmp_path / "cursor" / "mcp.json", "vscode": tmp_path / "code" / "mcp.json",
             "claude-code": tmp_path / "claude.json"}
    paths["vscode"].parent.mkdir()
    paths["vscode"].write_text("{ not json")
    section = OtherClientsSection(lambda: URL, QThreadPool.globalInstance(), paths)
    qtbot.addWidget(section)
    section.refresh()
    qtbot.waitUntil(lambda: section.states["vscode"].text().startswith("config file is not valid"), timeout=5000)
    assert not section.buttons["vscode"].isEnabled()
    qtbot.waitUntil(lambda: section.states["cursor"].text().startswith("not set up"), timeout=5000)

    qtbot.mouseClick(section.buttons["cursor"], Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: section.states["cursor"].text() == "✔ set up", timeout=5000)
    assert json.loads(paths["cursor"].read_text()) == {"mcpServers": {"mcp-tray": {"url": URL}}}
    assert told == ["Cursor"]
    assert paths["vscode"].read_text() == "{ not json"
