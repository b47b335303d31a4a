"""One MCP Tray per data dir: a local socket named after it; a second launch asks the first to show itself."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

SHOW = b"show\n"


def socket_name(data_dir: Path) -> str:
    """Short (Unix socket paths are limited) and specific to this user's data dir."""
    return "mcp-tray-" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:16]


def ask_running_to_show(data_dir: Path, timeout_ms: int = 1500) -> bool:
    """True if an MCP Tray already serves this data dir (it was asked to show its window)."""
    sock = QLocalSocket()
    sock.connectToServer(socket_name(data_dir))
    if not sock.waitForConnected(timeout_ms):
        return False
    sock.write(SHOW)
    sock.waitForBytesWritten(timeout_ms)
    sock.disconnectFromServer()
    return True


class InstanceServer(QObject):
    """Listens for later launches; emits show_requested when one asks."""

    show_requested = Signal()

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.server = QLocalServer(self)
        self.server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        self.server.newConnection.connect(self._accept)
        name = socket_name(data_dir)
        if not self.server.listen(name):
            # A socket file left by a crashed instance: nobody answered on it, so it is stale.
            QLocalServer.removeServer(name)
            if not self.server.listen(name):
                log.warning("cannot listen on %s: %s", name, self.server.errorString())

    def _accept(self) -> None:
        while self.server.hasPendingConnections():
            sock = self.server.nextPendingConnection()
            sock.readyRead.connect(lambda s=sock: self._read(s))
            sock.disconnected.connect(sock.deleteLater)
            if sock.bytesAvailable():
                self._read(sock)

    def _read(self, sock: QLocalSocket) -> None:
        if bytes(sock.readAll().data()).strip() == SHOW.strip():
            log.info("another launch asked this instance to show its window")
            self.show_requested.emit()

    def close(self) -> None:
        """Stop listening (and remove the socket file)."""
        self.server.close()
