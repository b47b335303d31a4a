"""The server's states, in a module light enough for the GUI to import before the server code loads."""

from __future__ import annotations

from enum import Enum


class ServerState(Enum):
    """What the runner is doing."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    ERROR = "error"
