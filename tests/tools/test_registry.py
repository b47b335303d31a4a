"""The registry: tools that expose the user's data start off; choices persist in tools.json; listeners hear
every change; visibility follows the token's scopes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp.server.mcpserver.exceptions import ToolError

from app.tools.registry import ToolRegistry

FILE_TOOLS = {"list_files", "search_files", "read_file"}


def enabled(registry: ToolRegistry) -> set[str]:
    return {r.name for r in registry.rows() if r.enabled}


def test_data_tools_start_off_and_harmless_ones_on(data_dir: Path) -> None:
    registry = ToolRegistry(data_dir, plugins=False)
    assert enabled(registry) == {"add", "now"}
    assert not (data_dir / "tools.json").exists()  # nothing chosen yet, nothing written


def test_choices_persist_in_tools_json(data_dir: Path, tmp_path: Path) -> None:
    registry = ToolRegistry(data_dir, plugins=False)
    registry.enable("read_file")
    registry.disable("now")
    registry.add_folder(tmp_path / "Docs")
    saved = json.loads((data_dir / "tools.json").read_text(encoding="utf-8"))
    assert saved == {"enabled": {"now": False, "read_file": True}, "folders": [str(tmp_path / "Docs")]}
    again = ToolRegistry(data_dir, plugins=False)
    assert enabled(again) == {"add", "read_file"}
    assert again.folders() == [tmp_path / "Docs"]
    again.remove_folder(tmp_path / "Docs")
    assert ToolRegistry(data_dir, plugins=False).folders() == []


def test_damaged_tools_json_means_defaults(data_dir: Path) -> None:
    (data_dir / "tools.json").write_text("{not json", encoding="utf-8")
    assert enabled(ToolRegistry(data_dir, plugins=False)) == {"add", "now"}
    (data_dir / "tools.json").write_text('{"enabled": {"add": "yes", "now": false}, "folders": [3, "/x"]}',
                                         encoding="utf-8")
    registry = ToolRegistry(data_dir, plugins=False)
    assert enabled(registry) == {"add"} and registry.folders() == [Path("/x")]


def test_unknown_tool_and_relative_folder_refused(data_dir: Path) -> None:
    registry = ToolRegistry(data_dir, plugins=False)
    with pytest.raises(KeyError):
        registry.enable("no_such_tool")
    with pytest.raises(ValueError, match="absolute"):
        registry.add_folder("relative/dir")


def test_listeners_hear_changes_but_not_no_ops(data_dir: Path) -> None:
    registry = ToolRegistry(data_dir, plugins=False)
    heard: list[str] = []
    unsubscribe = registry.subscribe(lambda: heard.append("x"))
    registry.enable("add")  # already on: no change
    registry.disable("add")
    registry.reload()
    unsubscribe()
    registry.enable("add")
    assert heard == ["x", "x"]


def test_hand_edited_tools_json_is_picked_up(data_dir: Path) -> None:
    registry = ToolRegistry(data_dir, plugins=False)
    (data_dir / "tools.json").write_text('{"enabled": {"list_files": true}}', encoding="utf-8")
    assert registry.reload_if_changed() is True
    assert "list_files" in enabled(registry)


def test_visibility_follows_scopes(data_dir: Path) -> None:
    registry = ToolRegistry(data_dir, plugins=False)
    for name in FILE_TOOLS:
        registry.enable(name)

    def names(scopes: list[str]) -> set[str]:
        return {t.name for t in registry.visible(frozenset(scopes))}

    assert names([]) == {"add"}
    assert names(["openid", "email", "profile"]) == {"add"}
    assert names(["tools:time"]) == {"add", "now"}
    assert names(["tools:files"]) == {"add"} | FILE_TOOLS
    with pytest.raises(ToolError, match="tools:files"):
        registry.lookup("read_file", frozenset({"mcp"}))
    with pytest.raises(ToolError, match="Unknown tool"):
        registry.lookup("nope", frozenset({"tools:files"}))
    registry.disable("read_file")
    with pytest.raises(ToolError, match="turned off"):
        registry.lookup("read_file", frozenset({"tools:files"}))


def test_withheld_follows_every_change(data_dir: Path) -> None:
    """The names step-up looks for are kept per scope set, and never past a toggle or a reload."""
    registry = ToolRegistry(data_dir, plugins=False)
    time_only = frozenset({"tools:time"})
    assert registry.withheld(time_only) == registry.withheld(time_only) == ()  # files are off: nothing withheld
    registry.enable("read_file")
    assert registry.withheld(time_only) == ("read_file",)
    assert registry.withheld(frozenset({"tools:time", "tools:files"})) == ()
    assert set(registry.withheld(frozenset())) == {"now", "read_file"}
    registry.disable("read_file")
    assert registry.withheld(time_only) == ()
    (data_dir / "tools.json").write_text('{"enabled": {"list_files": true}}', encoding="utf-8")
    assert registry.reload_if_changed() is True
    assert registry.withheld(time_only) == ("list_files",)
