"""The installed PySide6 keeps Python's reference counts right (6.12.0 on Python 3.11 does not).

Why pyproject pins pyside6-essentials below 6.12 on Python < 3.12: that release takes a reference
away from None on every void Qt call and from True on every signal emit. On 3.11 those objects are
not immortal, so a dashboard that updates every second aborts the process within the hour.
"""

from __future__ import annotations

import sys

import pytest
from PySide6.QtCore import QAbstractListModel, QIdentityProxyModel, QModelIndex, QObject, Qt, Signal
from PySide6.QtWidgets import QApplication, QLabel

pytestmark = pytest.mark.gui
CALLS = 500


class _Sender(QObject):
    ping = Signal(object)


class _NoneModel(QAbstractListModel):
    def rowCount(self, parent: object = QModelIndex()) -> int:
        return 1

    def data(self, index: object, role: int = 0) -> None:
        return None


def lost(obj: object, action: object) -> int:
    before = sys.getrefcount(obj)
    for _ in range(CALLS):
        action()  # type: ignore[operator]  # every action given is a callable
    return before - sys.getrefcount(obj)


def test_void_calls_keep_none_alive(qapp: QApplication) -> None:
    label = QLabel()
    assert lost(None, lambda: label.setText("x")) < CALLS // 2
    assert lost(None, QApplication.processEvents) < CALLS // 2


def test_emit_keeps_true_alive(qapp: QApplication) -> None:
    sender = _Sender()
    sender.ping.connect(lambda value: None)
    assert lost(True, lambda: sender.ping.emit(1)) < CALLS // 2


def test_a_model_returning_none_keeps_none_alive(qapp: QApplication) -> None:
    model = _NoneModel()
    proxy = QIdentityProxyModel()
    proxy.setSourceModel(model)
    index = proxy.index(0, 0)
    assert lost(None, lambda: proxy.data(index, Qt.ItemDataRole.ToolTipRole)) < CALLS // 2
