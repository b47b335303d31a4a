"""The Tools tab, offscreen: it lists every tool (and broken plugins), its toggles change the registry,
Reload picks up a new plugin, the folder chooser shares a folder, and changes from another thread show up."""

from __future__ import annotations

import os
import threading
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.tools.registry import ToolRegistry
from app.ui.tools_model import COL_ABOUT, COL_NAME, COL_ON, COL_PERMISSION, COL_SOURCE
from app.ui.tools_tab import ToolsTab

pytestmark = pytest.mark.gui


def rows_by_name(tab: ToolsTab) -> dict[str, int]:
    model = tab.model
    return {model.index(r, COL_NAME).data(): r for r in range(model.rowCount())}


def cell(tab: ToolsTab, name: str, col: int, role: Qt.ItemDataRole = Qt.ItemDataRole.DisplayRole) -> object:
    return tab.model.index(rows_by_name(tab)[name], col).data(role)


@pytest.fixture
def registry(data_dir: Path) -> ToolRegistry:
    tools = data_dir / "tools"
    tools.mkdir()
    (tools / "broken.py").write_text("import nowhere_to_be_found\n", encoding="utf-8")
    return ToolRegistry(data_dir)


@pytest.fixture
def opened() -> list[Path]:
    return []


@pytest.fixture
def tab(qtbot: QtBot, registry: ToolRegistry, opened: list[Path], tmp_path: Path) -> ToolsTab:
    share = tmp_path / "Shared"
    share.mkdir()
    def open_folder(path: Path) -> bool:
        opened.append(path)
        return True

    widget = ToolsTab(registry, open_folder=open_folder,
                      choose_folder=lambda parent: str(share))
    qtbot.addWidget(widget)
    return widget


def test_lists_every_tool_with_source_permission_and_state(tab: ToolsTab) -> None:
    names = rows_by_name(tab)
    assert {"add", "now", "list_files", "read_file", "search_files", "shout", "broken.py"} <= set(names)
    assert cell(tab, "add", COL_SOURCE) == "built-in"
    assert cell(tab, "add", COL_PERMISSION) == "none needed"
    assert cell(tab, "read_file", COL_PERMISSION) == "tools:files"
    assert cell(tab, "shout", COL_SOURCE) == "package mcp-tray-sample-plugin (sample)"
    assert cell(tab, "add", COL_ON, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    assert cell(tab, "read_file", COL_ON, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    error = str(cell(tab, "broken.py", COL_ABOUT))
    assert error.startswith("Failed to load: ModuleNotFoundError")
    assert cell(tab, "broken.py", COL_ON, Qt.ItemDataRole.CheckStateRole) is None  # no toggle for a broken one
    assert "could not be loaded" in tab.status.text()


def test_toggle_turns_a_tool_on_and_off(qtbot: QtBot, tab: ToolsTab, registry: ToolRegistry) -> None:
    index = tab.model.index(rows_by_name(tab)["read_file"], COL_ON)
    assert tab.model.setData(index, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert tab.wait()
    assert {r.name: r.enabled for r in registry.rows()}["read_file"] is True
    qtbot.waitUntil(lambda: "no folder is shared" in tab.folders_note.text())
    assert cell(tab, "read_file", COL_ON, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Checked
    index = tab.model.index(rows_by_name(tab)["add"], COL_ON)
    tab.model.setData(index, Qt.CheckState.Unchecked.value, Qt.ItemDataRole.CheckStateRole)
    assert tab.wait()
    assert {r.name: r.enabled for r in ToolRegistry(registry.data_dir, plugins=False).rows()}["add"] is False


def test_reload_picks_up_a_new_plugin_file(qtbot: QtBot, tab: ToolsTab, registry: ToolRegistry) -> None:
    assert registry.tools_dir is not None
    (registry.tools_dir / "fresh.py").write_text('def fresh(x: int) -> int:\n    """New."""\n    return x\n',
                                                 encoding="utf-8")
    assert "fresh" not in rows_by_name(tab)
    qtbot.mouseClick(tab.reload_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "fresh" in rows_by_name(tab))


def test_open_tools_folder(qtbot: QtBot, tab: ToolsTab, registry: ToolRegistry, opened: list[Path]) -> None:
    qtbot.mouseClick(tab.open_button, Qt.MouseButton.LeftButton)
    assert opened == [registry.tools_dir]


def test_folder_chooser_shares_and_removes(qtbot: QtBot, tab: ToolsTab, registry: ToolRegistry,
                                           tmp_path: Path) -> None:
    qtbot.mouseClick(tab.add_folder_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.folders.count() == 1)
    assert registry.folders() == [tmp_path / "Shared"]
    assert tab.folders.item(0).text() == str(tmp_path / "Shared")
    tab.folders.setCurrentRow(0)
    qtbot.mouseClick(tab.remove_folder_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.folders.count() == 0)
    assert registry.folders() == []


def test_change_from_another_thread_is_shown(qtbot: QtBot, tab: ToolsTab, registry: ToolRegistry) -> None:
    worker = threading.Thread(target=registry.disable, args=("now",))
    worker.start()
    worker.join()
    qtbot.waitUntil(lambda: cell(tab, "now", COL_ON, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked)


def test_closed_tab_stops_listening(qtbot: QtBot, registry: ToolRegistry, caplog: pytest.LogCaptureFixture) -> None:
    before = len(registry._listeners)
    widget = ToolsTab(registry)
    assert len(registry._listeners) == before + 1
    widget.deleteLater()
    qtbot.waitUntil(lambda: len(registry._listeners) == before)
    registry.disable("now")  # nobody left to redraw: no error
    assert "listener failed" not in caplog.text


def test_space_on_the_on_cell_toggles_like_a_click(qtbot: QtBot, tab: ToolsTab, registry: ToolRegistry) -> None:
    tab.show()
    qtbot.waitExposed(tab)
    index = tab.model.index(rows_by_name(tab)["now"], COL_ON)
    tab.table.setFocus()
    tab.table.setCurrentIndex(index)
    qtbot.keyClick(tab.table.viewport(), Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: {r.name: r.enabled for r in registry.rows()}["now"] is False)
    rect = tab.table.visualRect(tab.model.index(rows_by_name(tab)["now"], COL_ON))
    qtbot.mouseClick(tab.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.waitUntil(lambda: {r.name: r.enabled for r in registry.rows()}["now"] is True)


def test_unsavable_choice_is_a_clear_message(qtbot: QtBot, tab: ToolsTab, registry: ToolRegistry) -> None:
    assert registry.data_dir is not None
    (registry.data_dir / "tools.json").mkdir()  # something that cannot be replaced by a file
    index = tab.model.index(rows_by_name(tab)["read_file"], COL_ON)
    tab.model.setData(index, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    qtbot.waitUntil(lambda: tab.status.text().startswith("Could not save the choice in tools.json"))
    assert {r.name: r.enabled for r in registry.rows()}["read_file"] is False  # nothing half-changed
    assert cell(tab, "read_file", COL_ON, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked


def test_reloads_and_choices_run_off_the_gui_thread(qtbot: QtBot, tab: ToolsTab, registry: ToolRegistry,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    real_reload, real_set = registry.reload, registry.set_enabled

    def reload(notify: bool = True) -> None:
        seen.append(threading.current_thread().name)
        real_reload(notify)

    def set_enabled(name: str, enabled: bool) -> None:
        seen.append(threading.current_thread().name)
        real_set(name, enabled)

    monkeypatch.setattr(registry, "reload", reload)
    monkeypatch.setattr(registry, "set_enabled", set_enabled)
    qtbot.mouseClick(tab.reload_button, Qt.MouseButton.LeftButton)
    tab.model.setData(tab.model.index(rows_by_name(tab)["now"], COL_ON), Qt.CheckState.Unchecked.value,
                      Qt.ItemDataRole.CheckStateRole)
    assert tab.wait()
    assert len(seen) == 2 and threading.main_thread().name not in seen
    qtbot.waitUntil(lambda: cell(tab, "now", COL_ON, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked)
