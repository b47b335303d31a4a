"""The approval window: where the owner says yes or no to a sign-in, in a place only the owner reaches.

It opens, raised and focused, when a client's request arrives (the server thread reports it
through a queued signal), and shows one request at a time, oldest first: who asks and whether
anything proves it, the match code its browser page shows, where the answer goes and which local
program listens there, what it may do, the optional tool groups (each off unless the owner ticks
it; the client's own request is marked) and how long the grant lasts. Enter allows, Esc denies.
While it is shown it re-reads the queue every second, so a request answered with the CLI or
expired leaves it; hidden, it does nothing.
"""

from __future__ import annotations

import html
import logging
import time

from PySide6.QtCore import QObject, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QFont, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.auth.approval import (
    DEFAULT_LIFETIME,
    LIFETIMES,
    ApprovalDesk,
    answer_target,
    basic_scope_lines,
    came_in_remotely,
    client_identity,
    requested_tool_scopes,
)
from app.auth.scopes import OPTIONAL_TOOL_SCOPES
from app.store.rows import PendingApproval
from app.tools.groups import TOOL_SCOPES
from app.ui.icons import app_icon
from app.ui.tasks import run_task

log = logging.getLogger(__name__)

REFRESH_MS = 1000
MIN_WIDTH = 460  # at least; wider when the tool groups' lines need it (a check box does not wrap)


class ApprovalSignals(QObject):
    """Carries 'a request arrived' from the server thread to the GUI thread (a queued signal)."""

    arrived = Signal(object)  # PendingApproval

    def on_arrived(self, approval: PendingApproval) -> None:
        """Called on the server thread; Qt queues the signal to the GUI thread."""
        self.arrived.emit(approval)


def _label(text: str = "", *, rich: bool = False, name: str = "") -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText if rich else Qt.TextFormat.PlainText)
    if name:
        label.setObjectName(name)
    return label


class ApprovalWindow(QDialog):
    """One waiting request at a time; Allow (Enter) or Deny (Esc)."""

    queue_changed = Signal(int)  # how many requests wait
    answered = Signal(str, bool)  # client name, allowed

    def __init__(self, desk: ApprovalDesk, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.desk = desk
        self.current: PendingApproval | None = None
        self._queue: list[PendingApproval] = []
        self.setWindowTitle("Approve sign-in · MCP Tray")
        self.setWindowIcon(app_icon())
        self.setObjectName("approvalWindow")
        self.setMinimumWidth(MIN_WIDTH)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one read of the queue at a time
        self._reading = False
        self._bring_up_after = False

        self.position = _label(name="position")
        self.title = _label(rich=True, name="approvalTitle")
        title_font = QFont(self.title.font())
        title_font.setPointSizeF(title_font.pointSizeF() * 1.25)
        self.title.setFont(title_font)
        self.identity = _label(name="identity")
        self.warning = _label(name="warning")
        self.code = QLabel()
        self.code.setObjectName("matchCode")
        self.code.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.code.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        code_font = QFont("monospace")
        code_font.setStyleHint(QFont.StyleHint.Monospace)
        code_font.setPointSizeF(self.font().pointSizeF() * 2.0)
        code_font.setBold(True)
        self.code.setFont(code_font)
        code_caption = _label("Its browser page shows this code. Allow only if they match and you just "
                              "started connecting this app yourself.", name="codeCaption")
        code_caption.setAlignment(Qt.AlignmentFlag.AlignCenter)

        self.target = _label(name="target")
        self.listener = _label(name="listener")
        self.expires = _label(name="expires")
        facts = QFormLayout()
        facts.addRow("Answer goes to:", self.target)
        facts.addRow("Listening there:", self.listener)
        facts.addRow("Request expires:", self.expires)

        self.basics = _label(rich=True, name="basics")
        self.groups = QGroupBox("Also allow these tools? (each stays off unless you tick it)")
        groups_layout = QVBoxLayout(self.groups)
        self.boxes: dict[str, QCheckBox] = {}
        for scope in OPTIONAL_TOOL_SCOPES:
            box = QCheckBox(TOOL_SCOPES[scope].description)
            box.setObjectName(f"scope:{scope}")
            self.boxes[scope] = box
            groups_layout.addWidget(box)

        self.lifetime = QComboBox()
        self.lifetime.setObjectName("lifetime")
        for key, (label, _) in LIFETIMES.items():
            self.lifetime.addItem(label, key)
        lifetime_row = QHBoxLayout()
        lifetime_row.addWidget(QLabel("Access lasts:"))
        lifetime_row.addWidget(self.lifetime, 1)

        self.deny_button = QPushButton("Deny")
        self.deny_button.setObjectName("deny")
        self.deny_button.setAutoDefault(False)
        self.allow_button = QPushButton("Allow")
        self.allow_button.setObjectName("allow")
        self.allow_button.setDefault(True)
        self.deny_button.clicked.connect(self.deny_current)
        self.allow_button.clicked.connect(self.allow_current)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.deny_button)
        buttons.addWidget(self.allow_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(20, 16, 20, 16)
        layout.setSpacing(10)
        for widget in (self.position, self.title, self.identity, self.warning, self.code, code_caption):
            layout.addWidget(widget)
        layout.addLayout(facts)
        layout.addWidget(_label("If you allow it, it can:"))
        layout.addWidget(self.basics)
        layout.addWidget(self.groups)
        layout.addLayout(lifetime_row)
        layout.addLayout(buttons)
        QShortcut(QKeySequence(Qt.Key.Key_Enter), self, self.allow_current)

        self._timer = QTimer(self)
        self._timer.setInterval(REFRESH_MS)
        self._timer.timeout.connect(self.refresh)

    # -- the queue -----------------------------------------------------------------------------

    def on_arrived(self, approval: PendingApproval) -> None:
        """A new request: re-read the queue and come to the front."""
        self.refresh(bring_up=True)

    def bring_up(self) -> None:
        """Show, raise and focus the window (if anything waits)."""
        if not self._queue:
            return
        self.show()
        self.raise_()
        self.activateWindow()
        self.allow_button.setFocus()

    def refresh(self, bring_up: bool = False) -> None:
        """Re-read what waits (off the GUI thread); show the oldest; hide when nothing is left."""
        self._bring_up_after = self._bring_up_after or bring_up
        if self._reading:
            return
        self._reading = True

        def failed(exc: Exception) -> None:  # the database is busy or gone: say so, keep what we have
            self._reading = False
            log.warning("could not read waiting sign-in requests: %s", exc)

        run_task(self._pool, self.desk.waiting, self._show_queue, failed, self)

    def _show_queue(self, queue: object) -> None:
        self._reading = False
        if not isinstance(queue, list):
            return
        self._queue = queue
        self.queue_changed.emit(len(queue))
        if not queue:
            self.current = None
            self._bring_up_after = False
            self.hide()
            return
        if self.current is None or self.current.approval_id not in {a.approval_id for a in queue}:
            self._show(queue[0])
        self._update_position()
        if self._bring_up_after:
            self._bring_up_after = False
            self.bring_up()

    def _update_position(self) -> None:
        if self.current is None:
            return
        ids = [a.approval_id for a in self._queue]
        index = ids.index(self.current.approval_id) + 1 if self.current.approval_id in ids else 1
        self.position.setText(f"Sign-in request {index} of {len(ids)}" if len(ids) > 1 else "Sign-in request")

    def _show(self, approval: PendingApproval) -> None:
        self.current = approval
        identity = client_identity(approval)
        self.title.setText(f"<b>{html.escape(identity.name)}</b> wants to use your MCP server")
        self.identity.setText(("✔ " if identity.verified else "⚠ ") + identity.label)
        self.identity.setStyleSheet(f"color: {'#1e8e4f' if identity.verified else '#b26a00'}; font-weight: 600;")
        self.warning.setText(identity.warning or "")
        self.warning.setVisible(bool(identity.warning))
        self.code.setText(approval.match_code)
        self.target.setText(answer_target(approval.redirect_uri))
        where = approval.listener.split(": ", 1)[-1] if approval.listener else "another site (https)"
        if came_in_remotely(approval):
            where += "\n⚠ This request came through the public URL (remote access), not from this computer."
        self.listener.setText(where)
        self.expires.setText(time.strftime("%H:%M:%S", time.localtime(approval.expires_at)))
        self.basics.setText("".join(f"• {html.escape(line)}<br>" for line in basic_scope_lines(approval.scopes)))
        asked = set(requested_tool_scopes(approval))
        for scope, box in self.boxes.items():
            box.setChecked(False)  # never pre-granted, whatever the client asked for
            base = TOOL_SCOPES[scope].description
            box.setText(f"{base}  (asked for)" if scope in asked else base)
        margins = self.contentsMargins()
        widest = self.groups.sizeHint().width() + 40 + margins.left() + margins.right()
        self.setMinimumWidth(max(MIN_WIDTH, widest))
        self.lifetime.setCurrentIndex(list(LIFETIMES).index(DEFAULT_LIFETIME))

    # -- answers -------------------------------------------------------------------------------

    def ticked_scopes(self) -> list[str]:
        """The tool groups the owner turned on."""
        return [scope for scope, box in self.boxes.items() if box.isChecked()]

    def allow_current(self) -> None:
        """Allow the shown request with the ticked groups and the chosen lifetime."""
        if self.current is None:
            return
        current = self.current
        done = self.desk.allow(current.approval_id, self.ticked_scopes(), str(self.lifetime.currentData()), "tray")
        self._after_answer(current, done is not None, allowed=True)

    def deny_current(self) -> None:
        """Deny the shown request."""
        if self.current is None:
            return
        current = self.current
        done = self.desk.deny(current.approval_id, "tray")
        self._after_answer(current, done is not None, allowed=False)

    def _after_answer(self, approval: PendingApproval, took: bool, *, allowed: bool) -> None:
        if took:
            log.info("sign-in %s %s in the tray", approval.approval_id, "allowed" if allowed else "denied")
            self.answered.emit(approval.client_name, allowed)
        self.current = None
        self.refresh()

    def reject(self) -> None:
        """Esc denies the shown request (closing the window leaves it waiting)."""
        self.deny_current()

    # -- visibility: refresh only while shown -------------------------------------------------

    def showEvent(self, event: object) -> None:
        """Start re-reading the queue."""
        self._timer.start()
        super().showEvent(event)  # type: ignore[arg-type]

    def hideEvent(self, event: object) -> None:
        """Stop re-reading: a hidden window costs nothing."""
        self._timer.stop()
        super().hideEvent(event)  # type: ignore[arg-type]

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing hides the window; the requests keep waiting (and expire on their own)."""
        event.accept()
        self.hide()
