"""Cursor and VS Code: the exact entry each gets, their default paths, and VS Code's own keys kept."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pytest import MonkeyPatch

from app.clients import cursor, vscode
from app.clients.entries import EntryState
from app.clients.errors import InvalidConfigError
from tests.clients.helpers import backups, canon, load

URL = "http://127.0.0.1:8787/mcp"


def test_cursor_entry_in_the_default_file(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cursor.entry_status(URL).state is EntryState.NO_FILE
    result = cursor.write_entry(URL)
    assert result.path == tmp_path / ".cursor" / "mcp.json"
    assert load(result.path) == {"mcpServers": {"mcp-tray": {"url": URL}}}
    assert cursor.entry_status(URL).state is EntryState.CURRENT
    assert cursor.entry_status("http://127.0.0.1:1/mcp").state is EntryState.OUTDATED


def test_vscode_entry_keeps_inputs_and_other_servers(tmp_path: Path, monkeypatch: MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    path = tmp_path / "xdg" / "Code" / "User" / "mcp.json"
    path.parent.mkdir(parents=True)
    original: dict[str, Any] = {"inputs": [{"type": "promptString", "id": "key", "password": True}],
                "servers": {"gh": {"type": "http", "url": "https://api.githubcopilot.com/mcp/"}}}
    path.write_text(json.dumps(original, indent="\t"))

    result = vscode.write_entry(URL, name="tray")

    assert result.path == path and result.backup is not None
    assert canon(load(path)) == canon({**original, "servers": {**original["servers"],
                                                               "tray": {"type": "http", "url": URL}}})
    assert path.read_text().startswith("{\n\t\"inputs\"")  # the user's tab indent is kept
    assert vscode.entry_status(URL, name="tray").state is EntryState.CURRENT
    assert vscode.remove_entry(name="tray").changed and canon(load(path)) == canon(original)
    assert len(backups(path)) == 2


def test_vscode_file_with_comments_is_left_alone_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    text = '{\n  // my servers\n  "servers": {}\n}\n'
    path.write_text(text)
    with pytest.raises(InvalidConfigError, match="comments"):
        vscode.write_entry(URL, path)
    assert path.read_text() == text and vscode.entry_status(URL, path).state is EntryState.INVALID


def test_cursor_mcpservers_not_an_object_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "mcp.json"
    path.write_text('{"mcpServers": null}')
    with pytest.raises(InvalidConfigError, match='"mcpServers"'):
        cursor.write_entry(URL, path)
    assert path.read_text() == '{"mcpServers": null}'
