"""The owner's prompt for held calls (tool policy Ask): which client, which tool, the full arguments,
and Allow once / Allow this client for 1 hour / Always allow this client / Deny.

Several held calls queue in this one window, newest last. It appears without taking the keyboard
focus, so typing elsewhere never answers it; once focused, Enter allows once and Esc denies.
"""

from __future__ import annotations

import json
import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QFont, QFontDatabase
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.store.held import ALWAYS, HOUR, ONCE, HeldCall
from app.ui.icons import app_icon

CALL_ROLE = Qt.ItemDataRole.UserRole + 1


def pretty(arguments: str) -> str:
    """The arguments as indented JSON (they are stored that way; anything else is shown as it is)."""
    try:
        return json.dumps(json.loads(arguments), indent=2, ensure_ascii=False)
    except ValueError:
        return arguments


class PromptWindow(QDialog):
    """Shows the calls that wait for the owner; `answered(call_id, allow, answer_for)` carries each answer."""

    answered = Signal(str, bool, str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("promptWindow")
        self.setWindowTitle("MCP Tray — a tool call waits for you")
        self.setWindowIcon(app_icon())
        self.setModal(False)
        self.setAttribute(Qt.WidgetAttribute.WA_ShowWithoutActivating, True)
        self.setWindowFlag(Qt.WindowType.WindowStaysOnTopHint, True)
        self._calls: list[HeldCall] = []

        self.heading = QLabel()
        self.heading.setObjectName("promptHeading")
        self.heading.setWordWrap(True)
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        font = self.heading.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.heading.setFont(font)
        self.detail = QLabel()
        self.detail.setObjectName("promptDetail")
        self.detail.setWordWrap(True)
        self.detail.setTextFormat(Qt.TextFormat.PlainText)
        self.arguments = QPlainTextEdit()
        self.arguments.setObjectName("promptArguments")
        self.arguments.setReadOnly(True)
        self.arguments.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.arguments.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.queue = QListWidget()
        self.queue.setObjectName("promptQueue")
        self.queue.setMaximumHeight(90)
        self.queue.currentItemChanged.connect(lambda *_: self._show_current())
        self.queue_label = QLabel("Calls waiting (newest last); the selected one is shown above:")

        self.allow_once = QPushButton("Allow once")
        self.allow_once.setObjectName("allowOnce")
        self.allow_once.setDefault(True)
        self.allow_hour = QPushButton("Allow this client for 1 hour")
        self.allow_hour.setObjectName("allowHour")
        self.allow_always = QPushButton("Always allow this client")
        self.allow_always.setObjectName("allowAlways")
        self.deny = QPushButton("Deny")
        self.deny.setObjectName("deny")
        self.allow_once.clicked.connect(lambda: self._answer(True, ONCE))
        self.allow_hour.clicked.connect(lambda: self._answer(True, HOUR))
        self.allow_always.clicked.connect(lambda: self._answer(True, ALWAYS))
        self.deny.clicked.connect(lambda: self._answer(False, ONCE))
        buttons = QHBoxLayout()
        buttons.addWidget(self.deny)
        buttons.addStretch(1)
        buttons.addWidget(self.allow_always)
        buttons.addWidget(self.allow_hour)
        buttons.addWidget(self.allow_once)
        hint = QLabel("Enter allows once, Esc denies. Unanswered calls fail on their own after the timeout set "
                      "in Settings.")
        hint.setObjectName("promptHint")
        hint.setWordWrap(True)
        small = QFont(hint.font())
        small.setPointSizeF(small.pointSizeF() * 0.9)
        hint.setFont(small)

        layout = QVBoxLayout(self)
        layout.addWidget(self.heading)
        layout.addWidget(self.detail)
        layout.addWidget(QLabel("Arguments:"))
        layout.addWidget(self.arguments, 1)
        layout.addWidget(self.queue_label)
        layout.addWidget(self.queue)
        layout.addLayout(buttons)
        layout.addWidget(hint)
        self.resize(620, 460)
        self._ticker = QTimer(self)  # the "waiting N s" line, only while the window is up
        self._ticker.setInterval(1000)
        self._ticker.timeout.connect(self._show_current)

    def calls(self) -> list[HeldCall]:
        """The calls shown, oldest first."""
        return list(self._calls)

    def current(self) -> HeldCall | None:
        """The call the buttons answer."""
        item = self.queue.currentItem()
        call = item.data(CALL_ROLE) if item is not None else None
        return call if isinstance(call, HeldCall) else (self._calls[0] if self._calls else None)

    def set_calls(self, calls: object) -> None:
        """Show these waiting calls (oldest first); hide when none is left."""
        if not isinstance(calls, list):
            return
        chosen = self.current()
        self._calls = [c for c in calls if isinstance(c, HeldCall)]
        self.queue.blockSignals(True)
        self.queue.clear()
        for call in self._calls:
            item = QListWidgetItem(f"{call.tool} — {call.client_name or call.client_id}  ({call.call_id})")
            item.setData(CALL_ROLE, call)
            self.queue.addItem(item)
        ids = [c.call_id for c in self._calls]
        row = ids.index(chosen.call_id) if chosen is not None and chosen.call_id in ids else 0
        if self._calls:
            self.queue.setCurrentRow(row)
        self.queue.blockSignals(False)
        several = len(self._calls) > 1
        self.queue.setVisible(several)
        self.queue_label.setVisible(several)
        if not self._calls:
            self._ticker.stop()
            self.hide()
            return
        self._show_current()
        if not self.isVisible():
            self.show()
            self.raise_()
        self._ticker.start()

    def _show_current(self) -> None:
        call = self.current()
        if call is None:
            return
        who = call.client_name or "An unnamed client"
        self.heading.setText(f"{who} wants to call {call.tool}")
        waited = max(0, int(time.time() - call.at))
        more = f" · {len(self._calls)} calls waiting" if len(self._calls) > 1 else ""
        self.detail.setText(f"Client id {call.client_id} · sign-in {call.grant_id}\nWaiting for {waited} s{more}")
        text = pretty(call.arguments)
        if self.arguments.toPlainText() != text:
            self.arguments.setPlainText(text)

    def _answer(self, allow: bool, answer_for: str) -> None:
        call = self.current()
        if call is None:
            return
        self.answered.emit(call.call_id, allow, answer_for)
        self.set_calls([c for c in self._calls if c.call_id != call.call_id])

    def reject(self) -> None:
        """Esc (or the window's close button): deny the call shown; the window stays while others wait."""
        if self.current() is not None:
            self._answer(False, ONCE)
        else:
            super().reject()
