"""`mcp-tray` with no subcommand: the tray application, with the server in a thread of this process."""

from __future__ import annotations

import logging
import signal
import socket
import sys
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

from PySide6.QtCore import QSocketNotifier
from PySide6.QtWidgets import QApplication, QSystemTrayIcon

from app.config import DEFAULT_HOST, Settings
from app.server.server_state import ServerState
from app.ui.icons import app_icon, state_icon
from app.ui.single_instance import InstanceServer, ask_running_to_show

if TYPE_CHECKING:
    from app.ui.tray_app import TrayApp

log = logging.getLogger(__name__)

class SignalWaker:
    """SIGTERM and SIGINT quit the app, without a timer waking Python up to look for them.

    Python runs its signal handlers only between bytecodes, and the Qt event loop runs no bytecode
    while it waits. The C-level handler writes the signal number to a socket (`signal.set_wakeup_fd`);
    a QSocketNotifier on the other end wakes the loop, and the Python handler runs as that slot does.
    """

    def __init__(self, app: TrayApp) -> None:
        self._reader, self._writer = socket.socketpair()
        for sock in (self._reader, self._writer):
            sock.setblocking(False)
        self._previous = signal.set_wakeup_fd(self._writer.fileno())
        self._notifier = QSocketNotifier(self._reader.fileno(), QSocketNotifier.Type.Read)
        self._notifier.activated.connect(self._drain)

        def on_signal(signum: int, frame: FrameType | None) -> None:
            log.info("signal %d: quitting", signum)
            app.quit()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    def _drain(self) -> None:
        try:
            while self._reader.recv(64):
                pass
        except OSError:  # nothing left (BlockingIOError) or closed
            return

    def stop(self) -> None:
        """Give the wake-up fd back and close the sockets."""
        self._notifier.setEnabled(False)
        signal.set_wakeup_fd(self._previous)
        self._reader.close()
        self._writer.close()


def run_gui(data_dir: Path, port: int | None) -> int:
    """Run the tray app until Quit or SIGTERM; 0 on a clean exit."""
    qt_app = QApplication.instance() or QApplication(sys.argv[:1])
    if not isinstance(qt_app, QApplication):
        print("mcp-tray: a non-GUI Qt application already exists", file=sys.stderr)
        return 1
    qt_app.setApplicationName("MCP Tray")
    qt_app.setDesktopFileName("mcp-tray")
    qt_app.setWindowIcon(app_icon())
    qt_app.setQuitOnLastWindowClosed(False)

    if ask_running_to_show(data_dir):
        print(
            f"MCP Tray is already running for {data_dir}; its window was brought to the front.",
            file=sys.stderr,
        )
        return 0
    instance = InstanceServer(data_dir)

    # Show the icon before loading the server code (the MCP SDK alone takes about half a second
    # to import), so the user sees MCP Tray at once; the tray app takes this icon over.
    early_icon: QSystemTrayIcon | None = None
    if QSystemTrayIcon.isSystemTrayAvailable():
        early_icon = QSystemTrayIcon(state_icon(ServerState.STARTING))
        early_icon.setToolTip("MCP Tray — starting")
        early_icon.show()
        qt_app.processEvents()

    from app.server.parts import build_parts
    from app.server.port import choose_port
    from app.server.runner import ServerRunner
    from app.ui.tray_app import TrayApp

    settings = Settings.load(data_dir)
    choice = choose_port(settings, port)
    parts = build_parts(settings, data_dir, host=DEFAULT_HOST, port=choice.port)
    runner = ServerRunner(data_dir, DEFAULT_HOST, choice, pid_file=True, parts=parts)
    app = TrayApp(data_dir, runner, tray_icon=early_icon)
    instance.show_requested.connect(app.open_dashboard)
    waker = SignalWaker(app)
    app.start(start_server=settings.start_server_on_launch or port is not None)
    code = qt_app.exec()
    waker.stop()
    log.info("event loop ended (%d); stopping the server", code)
    app.shutdown()
    instance.close()
    log.info("bye")
    return 0 if code == 0 else code
