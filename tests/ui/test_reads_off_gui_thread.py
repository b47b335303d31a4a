"""Windows that read SQLite while shown do it on a worker: the approval window's queue and the passkey list."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from PySide6.QtCore import QThreadPool
from pytestqt.qtbot import QtBot

from app.auth.approval import ApprovalDesk
from app.config import Settings
from app.store.rows import PendingApproval
from app.store.store import Store
from app.ui.approval_window import ApprovalWindow
from app.ui.passkeys_section import PasskeysSection
from app.ui.settings_dialog import MIN_HEIGHT, SettingsDialog

pytestmark = pytest.mark.gui


class RecordingDesk(ApprovalDesk):
    """The real desk over a real store, noting the thread of each read."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.threads: list[str] = []

    def waiting(self) -> list[PendingApproval]:
        self.threads.append(threading.current_thread().name)
        return super().waiting()


def test_the_approval_window_reads_its_queue_on_a_worker(qtbot: QtBot, data_dir: Path) -> None:
    store = Store(data_dir)
    desk = RecordingDesk(store)
    window = ApprovalWindow(desk)
    qtbot.addWidget(window)
    counts: list[int] = []
    window.queue_changed.connect(counts.append)
    window.refresh()
    qtbot.waitUntil(lambda: counts == [0], timeout=5000)
    assert desk.threads and threading.main_thread().name not in desk.threads
    assert not window.isVisible()  # nothing waits
    store.close()


def test_the_passkey_list_is_read_on_a_worker(qtbot: QtBot, data_dir: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    threads: list[str] = []
    real = Store.__init__

    def opened(self: Store, *args: object, **kwargs: object) -> None:
        threads.append(threading.current_thread().name)
        real(self, *args, **kwargs)  # type: ignore[arg-type]  # Store()'s own arguments, handed on

    section = PasskeysSection(data_dir, lambda: "https://mcp.example.test")
    qtbot.addWidget(section)
    monkeypatch.setattr(Store, "__init__", opened)
    section.refresh()
    qtbot.waitUntil(lambda: section.list.count() == 1, timeout=5000)
    assert "No passkeys" in section.list.item(0).text()
    assert threads and threading.main_thread().name not in threads


def test_settings_fit_a_small_screen_and_keep_save_in_view(qtbot: QtBot, data_dir: Path) -> None:
    pool = QThreadPool()
    dialog = SettingsDialog(data_dir, Settings(), lambda: "http://127.0.0.1:8787/mcp", pool)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    dialog.resize(dialog.minimumSize())
    qtbot.wait(50)
    assert dialog.height() <= MIN_HEIGHT + 1 and dialog.height() < 600  # a laptop screen holds it
    save = dialog.findChild(type(dialog.claude.configure_button), "")  # any push button: Save is in the box
    assert save is not None
    assert dialog.rect().contains(dialog.error.geometry().topLeft())
    assert dialog.scroller.verticalScrollBar().maximum() > 0  # the sections scroll instead
    pool.waitForDone(5000)
