"""The dashboard's top: state, URL, transports, uptime, requests, connections, last error."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from app.remote.access import RemoteState, RemoteStatus
from app.server.runner import ServerState
from app.ui.controller import ServerStatus
from app.ui.format import clock, uptime
from app.ui.icons import state_icon

STATE_TEXT = {
    ServerState.RUNNING: ("Running", "#1e7e45"),
    ServerState.STOPPED: ("Stopped", "#5b6270"),
    ServerState.STARTING: ("Starting…", "#a06d00"),
    ServerState.ERROR: ("Error", "#c0241c"),
}


def state_words(status: ServerStatus) -> tuple[str, str]:
    """The headline ('Running', 'Stopping…') and its colour."""
    if status.busy:
        verb = "Stopping…" if status.state is ServerState.RUNNING else "Starting…"
        return verb, STATE_TEXT[ServerState.STARTING][1]
    return STATE_TEXT[status.state]


class StatusPanel(QFrame):
    """A compact summary of the server, with Start/Stop and Copy URL buttons."""

    start_clicked = Signal()
    stop_clicked = Signal()
    copy_clicked = Signal()
    settings_clicked = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("statusPanel")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        # A card on the window background; palette roles keep it right in dark themes too.
        self.setStyleSheet(
            "QFrame#statusPanel { background: palette(base); border: 1px solid palette(mid);"
            " border-radius: 8px; } QLabel#fieldName { color: palette(placeholder-text); }"
        )
        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        self.icon = QLabel()
        self.state_label = QLabel()
        self.state_label.setObjectName("stateLabel")
        font = self.state_label.font()
        font.setPointSizeF(font.pointSizeF() * 1.35)
        font.setBold(True)
        self.state_label.setFont(font)
        self.toggle = QPushButton()
        self.toggle.setObjectName("toggleServer")
        self.toggle.clicked.connect(self._toggle)
        self.copy = QPushButton("Copy URL")
        self.copy.setObjectName("copyUrl")
        self.copy.clicked.connect(self.copy_clicked)
        head.addWidget(self.icon)
        head.addWidget(self.state_label)
        head.addStretch(1)
        self.settings = QPushButton("Settings…")
        self.settings.setObjectName("openSettings")
        self.settings.clicked.connect(self.settings_clicked)
        head.addWidget(self.settings)
        head.addWidget(self.copy)
        head.addWidget(self.toggle)
        outer.addLayout(head)

        grid = QGridLayout()
        grid.setHorizontalSpacing(18)
        grid.setVerticalSpacing(4)
        self.values: dict[str, QLabel] = {}
        fields = [
            ("url", "Server URL"),
            ("transports", "Transports"),
            ("uptime", "Uptime"),
            ("requests", "Requests served"),
            ("connections", "Open connections"),
            ("error", "Last error"),
            ("remote", "Remote access"),
        ]
        for i, (key, title) in enumerate(fields):
            name = QLabel(title)
            name.setObjectName("fieldName")
            value = QLabel("—")
            value.setObjectName(f"value_{key}")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            value.setWordWrap(key in ("error", "remote"))
            row, col = ((i, 0) if i < 3 else (i - 3, 2)) if i < 6 else (3, 0)
            grid.addWidget(name, row, col)
            grid.addWidget(value, row, col + 1)
            self.values[key] = value
        grid.addWidget(self.values["remote"], 3, 1, 1, 3)  # the public URL needs the whole row
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(3, 2)
        outer.addLayout(grid)
        self._state = ServerState.STOPPED
        self._shown_look: tuple[object, ...] | None = None

    def _toggle(self) -> None:
        (self.stop_clicked if self._state is ServerState.RUNNING else self.start_clicked).emit()

    def show_status(self, status: ServerStatus) -> None:
        """Fill every field from a ServerStatus."""
        self._state = status.state
        words, colour = state_words(status)
        self.state_label.setText(words)
        size = self.state_label.fontMetrics().height()
        look = (colour, status.state, size)
        if look != self._shown_look:  # a style sheet re-polishes the widget: only when it changes
            self._shown_look = look
            self.state_label.setStyleSheet(f"color: {colour};")
            self.icon.setPixmap(state_icon(status.state).pixmap(size, size))
        self.toggle.setText("Stop server" if status.state is ServerState.RUNNING else "Start server")
        self.toggle.setEnabled(not status.busy)
        self.copy.setEnabled(status.url is not None)
        v = self.values
        v["url"].setText(status.url or f"not serving (port {status.port})")
        base = status.base_url
        v["transports"].setText("Streamable HTTP /mcp · legacy SSE /sse" if base else "—")
        stats = status.stats
        running = status.state is ServerState.RUNNING
        v["uptime"].setText(uptime(stats.started_at if stats and running else None))
        v["requests"].setText(f"{stats.requests:,}" if stats else "0")
        v["connections"].setText(str(status.open_connections))
        error, at = status.error, None
        if stats is not None and stats.last_error is not None:
            if error is None or status.state is not ServerState.ERROR:
                error, at = stats.last_error, stats.last_error_at
        v["error"].setText("none" if not error else (f"{error} (at {clock(at)})" if at else error))
        _style(v["error"], "" if not error else "color: #c0241c;")
        v["error"].setToolTip(time.strftime("%c", time.localtime(at)) if at else "")
        v["remote"].setText(remote_words(status.remote))
        failed = status.remote is not None and status.remote.error is not None
        _style(v["remote"], "color: #c0241c;" if failed else "color: #b35c00;" if
               status.remote is not None and status.remote.on else "")


def _style(label: QLabel, sheet: str) -> None:
    """Set a style sheet only when it differs: setting one re-polishes and repaints the widget, even unchanged."""
    if label.styleSheet() != sheet:
        label.setStyleSheet(sheet)


def remote_words(remote: RemoteStatus | None) -> str:
    """'off', 'on at https://…/mcp through ngrok, until 23:00', 'starting…', or the error."""
    if remote is None or remote.state is RemoteState.OFF:
        return "off"
    if remote.state is RemoteState.STARTING:
        return f"starting {remote.ingress}…"
    if remote.state is RemoteState.ERROR:
        return f"could not start: {remote.error}"
    until = "no end time"
    if remote.until is not None:
        until = f"until {time.strftime('%a %H:%M', time.localtime(remote.until))}"
    text = f"on at {remote.public_url} through {remote.ingress}, {until}"
    return f"{text}. {remote.warning}" if remote.warning else text
