"""Settings > Remote access > Passkeys: the owner's passkeys, listed and named; add one, remove one.

"Add a passkey…" mints a single-use enrolment link for the public URL and opens it in the browser
(a passkey is bound to the host of the page it is made on, so it is made on the public URL). The
list is read when Settings opens and after each change; nothing polls.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, QThreadPool, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.auth.passkey_enrol import enrolment_link
from app.store.passkeys import ENROL_TTL, PasskeyError, PasskeyRow
from app.store.store import Store
from app.ui.tasks import run_task


def _open_in_browser(url: str) -> bool:
    return QDesktopServices.openUrl(QUrl(url))


class PasskeysSection(QWidget):
    """The passkey list with Add and Remove; `public_url()` gives the URL the Remote access form shows."""

    def __init__(self, data_dir: Path, public_url: Callable[[], str], parent: QWidget | None = None,
                 pool: QThreadPool | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("passkeysSection")
        self.data_dir = data_dir
        self.public_url = public_url
        self.open_url: Callable[[str], bool] = _open_in_browser
        # The app's pool (Settings passes it), never one of its own: a pool owned by this widget was
        # destroyed with the dialog from the garbage collector, and that crashed the process.
        self._pool = pool if pool is not None else QThreadPool.globalInstance()
        self.list = QListWidget()
        self.list.setObjectName("passkeyList")
        self.list.setMaximumHeight(self.list.fontMetrics().lineSpacing() * 5)
        self.add_button = QPushButton("Add a passkey…")
        self.add_button.setObjectName("addPasskey")
        self.add_button.clicked.connect(self.ask_and_add)
        self.remove_button = QPushButton("Remove")
        self.remove_button.setObjectName("removePasskey")
        self.remove_button.clicked.connect(self.remove_selected)
        self.status = QLabel()
        self.status.setObjectName("passkeyStatus")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_button)
        buttons.addWidget(self.remove_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.list)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        self.list.itemSelectionChanged.connect(self._selection_changed)

    def _selection_changed(self) -> None:
        self.remove_button.setEnabled(bool(self.list.selectedItems()))

    def refresh(self) -> None:
        """Read the passkeys again (off the GUI thread; the list fills in when the read is done)."""
        data_dir = self.data_dir

        def read() -> list[PasskeyRow]:
            store = Store(data_dir)
            try:
                return store.passkeys.list()
            finally:
                store.close()

        def failed(exc: Exception) -> None:
            self.status.setText(f"Could not read the passkeys: {exc}")

        run_task(self._pool, read, self._show, failed, self)

    def _show(self, keys: list[PasskeyRow]) -> None:
        self.list.clear()
        for key in keys:
            used = time.strftime("%Y-%m-%d", time.localtime(key.last_used_at)) if key.last_used_at else "never"
            item = QListWidgetItem(f"{key.name} — for {key.rp_id}, last used {used}")
            item.setData(Qt.ItemDataRole.UserRole, key.id)
            self.list.addItem(item)
        if not keys:
            self.list.addItem(QListWidgetItem("No passkeys: remote sign-ins wait for you in the tray."))
            self.list.item(0).setFlags(Qt.ItemFlag.NoItemFlags)
        self._selection_changed()

    def ask_and_add(self) -> None:
        """Ask for a name, then `add(name)`."""
        name, ok = QInputDialog.getText(self, "Add a passkey", "Name it after the device that will hold it:")
        if ok:
            self.add(name)

    def add(self, name: str) -> str | None:
        """Mint the enrolment link and open it in the browser; the link, or None (the status says why)."""
        store = Store(self.data_dir)
        try:
            link = enrolment_link(store, name, self.public_url())
        except PasskeyError as exc:
            self.status.setText(str(exc))
            return None
        finally:
            store.close()
        opened = self.open_url(link)
        minutes = int(ENROL_TTL // 60)
        self.status.setText(
            f"Opened the link that creates “{' '.join(name.split())}” (valid once, {minutes} minutes). To make the "
            f"passkey on another device, open it there instead: {link}" if opened else
            f"Open this link on the device that should hold the passkey (once, within {minutes} minutes): {link}")
        return link

    def remove_selected(self) -> None:
        """Remove the selected passkey."""
        items = self.list.selectedItems()
        if not items:
            return
        passkey_id = items[0].data(Qt.ItemDataRole.UserRole)
        store = Store(self.data_dir)
        try:
            removed = store.passkeys.remove(str(passkey_id))
        finally:
            store.close()
        self.status.setText(f"Removed the passkey {removed.name}." if removed else "That passkey was already gone.")
        self.refresh()
