"""When the dashboard's status card must be drawn again, without a periodic timer.

What the card shows changes for three reasons, and each one says so:

- the server starts, stops, fails or remote access changes: the controller's `changed` signal;
- a request is counted or an error remembered: `ServerStats.notify_next` calls back once, from the
  server thread; the call crosses to the GUI thread as a queued signal, and a burst of requests is
  drawn once, COALESCE_MS later, when the feed asks to be told of the next one;
- the uptime's words change ('4 min' to '5 min'): a single shot at exactly that moment.

One thing changes without telling anyone: a stream that closes lowers "Open connections". While
something is open the feed looks again every STREAMS_MS; with nothing open it does not.
Nothing runs while the window is hidden (`stop`).
"""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Qt, QTimer, Signal

from app.server.runner import ServerState
from app.ui.controller import ServerController, ServerStatus
from app.ui.format import uptime_changes_in

log = logging.getLogger(__name__)

COALESCE_MS = 250  # after a request: the ones that follow it within this are drawn together
STREAMS_MS = 3000  # while a connection is open: how often its closing is looked for
MARGIN_MS = 50  # after the uptime's next change, so the words have changed when it fires


def _single_shot(owner: QObject, timeout: object, precise: bool = False) -> QTimer:
    timer = QTimer(owner)
    timer.setSingleShot(True)
    if precise:
        timer.setTimerType(Qt.TimerType.PreciseTimer)
    timer.timeout.connect(timeout)
    return timer


class StatusFeed(QObject):
    """Emits `due` when the status card is stale; `drawn(status)` after each drawing re-arms it."""

    due = Signal()
    _counted = Signal()  # emitted on the server thread by the stats' listener; queued to this thread

    def __init__(self, controller: ServerController, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self._on = False
        self._counted.connect(self._request_counted)
        self._coalesce = _single_shot(self, self.due.emit)
        self._coalesce.setInterval(COALESCE_MS)
        self._uptime = _single_shot(self, self.due.emit, precise=True)
        self._streams = _single_shot(self, self.due.emit)
        self._streams.setInterval(STREAMS_MS)

    @property
    def on(self) -> bool:
        """Whether the card is being kept current (between `start` and `stop`)."""
        return self._on

    def start(self) -> None:
        """The window is shown: keep the card current from now on."""
        self._on = True
        self.arm()

    def stop(self) -> None:
        """The window is hidden: no callbacks, no timers."""
        self._on = False
        for timer in (self._coalesce, self._uptime, self._streams):
            timer.stop()
        parts = self.controller.runner.parts
        if parts is not None:
            parts.stats.notify_next(None)

    def arm(self) -> None:
        """Ask to be told of the next request or error; call just before the status is read."""
        parts = self.controller.runner.parts
        if self._on and parts is not None:
            parts.stats.notify_next(self._from_server)

    def drawn(self, status: ServerStatus) -> None:
        """The card shows `status`: plan the next look from what it shows."""
        if not self._on:
            return
        started = status.stats.started_at if status.stats is not None else None
        if status.state is ServerState.RUNNING and started is not None:
            self._uptime.start(round(uptime_changes_in(started) * 1000) + MARGIN_MS)
        else:
            self._uptime.stop()
        if status.open_connections > 0:
            if not self._streams.isActive():
                self._streams.start()
        else:
            self._streams.stop()

    def _from_server(self) -> None:
        try:
            self._counted.emit()
        except RuntimeError:  # the Qt object was deleted at quit
            log.debug("a request was counted after the dashboard went")

    def _request_counted(self) -> None:
        if self._on and not self._coalesce.isActive():
            self._coalesce.start()
