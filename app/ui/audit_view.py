"""The Tool calls tab: the audit log, live while it is on screen, with filters and "Revoke this sign-in".

It reads through the StoreService (never SQLite itself), and only while it is visible: when it
comes on screen, when a filter changes and when the database is written (the dashboard connects
the service's `changed_on_disk` to `refresh`; the audit writer's rows land there). A PostgreSQL
store has no file to watch: with `poll` set the view reads every LIVE_MS instead. Hidden, it asks
for nothing.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QHideEvent, QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.store import audit
from app.store.audit import AuditFilter, AuditRow
from app.ui import dialogs
from app.ui.lists_view import make_table
from app.ui.store_service import AuditPage
from app.ui.table_models import ROW_ROLE, AuditModel

LIVE_MS = 1000
ANY = "Any"


class AuditView(QWidget):
    """Every tools/call, resources/read and prompts/get, newest first."""

    wanted = Signal(object)  # AuditFilter: please read these rows
    revoke_grant = Signal(str, str)  # grant id, client name

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = AuditModel()
        self.table = make_table(self, self.model, AuditModel.COL_ARGS, AuditModel.COL_TIME,
                                Qt.SortOrder.DescendingOrder)
        self.table.setObjectName("auditTable")
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.client_filter = QComboBox()
        self.client_filter.setObjectName("auditClient")
        self.tool_filter = QComboBox()
        self.tool_filter.setObjectName("auditTool")
        self.outcome_filter = QComboBox()
        self.outcome_filter.setObjectName("auditOutcome")
        self.outcome_filter.addItem(ANY, None)
        for outcome in audit.OUTCOMES:
            self.outcome_filter.addItem(outcome, outcome)
        self.client_filter.addItem(ANY, None)
        self.tool_filter.addItem(ANY, None)
        for box in (self.client_filter, self.tool_filter, self.outcome_filter):
            box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
            box.currentIndexChanged.connect(self.refresh)
        self.revoke_button = QPushButton("Revoke this sign-in…")
        self.revoke_button.setObjectName("revokeSignIn")
        self.revoke_button.setToolTip("Revoke the sign-in (grant) that made the selected call, and all its tokens.")
        self.revoke_button.setEnabled(False)
        self.revoke_button.clicked.connect(self._revoke)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self.count = QLabel()

        filters = QHBoxLayout()
        for label, box in (("Client", self.client_filter), ("Tool", self.tool_filter),
                           ("Outcome", self.outcome_filter)):
            filters.addWidget(QLabel(label))
            filters.addWidget(box)
        filters.addStretch(1)
        bottom = QHBoxLayout()
        bottom.addWidget(self.count, 1)
        bottom.addWidget(self.revoke_button)
        layout = QVBoxLayout(self)
        layout.addLayout(filters)
        layout.addWidget(self.table, 1)
        layout.addLayout(bottom)

        self.poll = False  # read every LIVE_MS while visible (when no change notice comes)
        self._live = False
        self.timer = QTimer(self)
        self.timer.setInterval(LIVE_MS)
        self.timer.timeout.connect(self.refresh)

    @property
    def live(self) -> bool:
        """Whether the view follows new calls (it does exactly while it is on screen)."""
        return self._live

    def current_filter(self) -> AuditFilter:
        """What the filters say."""
        return AuditFilter(client_id=self.client_filter.currentData(), name=self.tool_filter.currentData(),
                           outcome=self.outcome_filter.currentData())

    def refresh(self) -> None:
        """Ask for the rows the filters select (only while on screen)."""
        if self.isVisible():
            self.wanted.emit(self.current_filter())

    def showEvent(self, event: QShowEvent) -> None:
        """On screen: read now, then at each change (or every LIVE_MS with `poll`)."""
        super().showEvent(event)
        self._live = True
        if self.poll:
            self.timer.start()
        self.refresh()

    def hideEvent(self, event: QHideEvent) -> None:
        """Off screen (another tab, the window hidden): stop reading."""
        super().hideEvent(event)
        self._live = False
        self.timer.stop()

    def show_page(self, page: object) -> None:
        """Rows from the service; a page for filters changed since is dropped."""
        if not isinstance(page, AuditPage) or page.filter != self.current_filter():
            return
        self._fill(self.client_filter, [(cid, f"{name or '(unnamed)'} ({cid[:8]})") for cid, name in page.clients])
        self._fill(self.tool_filter, [(n, n) for n in page.names])
        self.model.set_rows(page.rows)
        self.count.setText(f"{len(page.rows)} call(s) shown" + (" (the newest)" if len(page.rows) >= page.filter.limit
                                                                else ""))
        self._selection_changed()

    @staticmethod
    def _fill(box: QComboBox, items: list[tuple[str, str]]) -> None:
        have = [box.itemData(i) for i in range(1, box.count())]
        if have == [value for value, _ in items]:
            return
        chosen = box.currentData()
        box.blockSignals(True)
        box.clear()
        box.addItem(ANY, None)
        for value, text in items:
            box.addItem(text, value)
        index = box.findData(chosen) if chosen is not None else 0
        box.setCurrentIndex(max(0, index))
        box.blockSignals(False)

    def selected(self) -> AuditRow | None:
        """The selected call."""
        rows = self.table.selectionModel().selectedRows()
        row = rows[0].data(ROW_ROLE) if rows else None
        return row if isinstance(row, AuditRow) else None

    def _selection_changed(self, *_: object) -> None:
        row = self.selected()
        self.revoke_button.setEnabled(row is not None and row.grant_id is not None)

    def _revoke(self) -> None:
        row = self.selected()
        if row is None or row.grant_id is None:
            return
        name = row.client_name or row.client_id or "this client"
        if dialogs.ask(self, "Revoke this sign-in?",
                       f"Revoke the sign-in of “{name}” that called {row.name}? Its tokens stop working at "
                       "once and its open connections are closed. It can sign in again only if you approve it."):
            self.revoke_grant.emit(row.grant_id, name)
