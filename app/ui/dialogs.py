"""Message boxes that show text as text: client names come from the network, so never as HTML."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


def _box(parent: QWidget | None, title: str, text: str, icon: QMessageBox.Icon) -> QMessageBox:
    box = QMessageBox(parent)
    box.setIcon(icon)
    box.setWindowTitle(title)
    # A client may register a name like "<a href=...>Claude</a>"; QMessageBox would render it.
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text)
    return box


def ask(parent: QWidget | None, title: str, text: str) -> bool:
    """Yes / Cancel, Cancel being the default; True for Yes."""
    box = _box(parent, title, text, QMessageBox.Icon.Question)
    box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel)
    box.setDefaultButton(QMessageBox.StandardButton.Cancel)
    return bool(box.exec() == QMessageBox.StandardButton.Yes)


def tell(parent: QWidget | None, title: str, text: str, warning: bool = False) -> None:
    """An OK box."""
    icon = QMessageBox.Icon.Warning if warning else QMessageBox.Icon.Information
    _box(parent, title, text, icon).exec()
