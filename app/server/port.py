"""Which port the server serves, and where that number comes from.

One rule for every entry point and every writer: `--port` for this run, else `$MCP_TRAY_PORT`, else
settings.json, else 8787. The tray's Settings shows the choice with its source, and the client
writers (the tray's Configure buttons, `mcp-tray configure`) use the same choice, so a client's entry
points at the port the server serves.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping
from dataclasses import dataclass

from app.config import DEFAULT_PORT, Settings

PORT_ENV = "MCP_TRAY_PORT"


class PortSource(enum.Enum):
    """Where the port in use was chosen."""

    SETTINGS = "settings"  # settings.json (or its default, 8787)
    COMMAND_LINE = "command line"  # --port, for this run only
    ENVIRONMENT = "environment"  # $MCP_TRAY_PORT, for the processes that see it


@dataclass(frozen=True)
class PortChoice:
    """The port a server serves (or will serve) and its source."""

    port: int
    source: PortSource = PortSource.SETTINGS

    @property
    def for_this_run_only(self) -> bool:
        """True when a restart without the same --port or environment would serve another port."""
        return self.source is not PortSource.SETTINGS

    def describe(self, saved: int) -> str:
        """One line for Settings and the CLI: the port, where it comes from, and what the file says."""
        if self.source is PortSource.COMMAND_LINE:
            where = "given with --port for this run only"
        elif self.source is PortSource.ENVIRONMENT:
            where = f"set by ${PORT_ENV} in the environment"
        else:
            return f"Port {self.port}, from the settings file."
        return f"Port {self.port}, {where}; the settings file says {saved}."


def env_port(environ: Mapping[str, str] | None = None) -> int | None:
    """$MCP_TRAY_PORT as a port number, or None when unset or not a port (1-65535)."""
    raw = (os.environ if environ is None else environ).get(PORT_ENV, "").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 65535:
        return None
    return int(raw)


def choose_port(settings: Settings, command_line: int | None = None,
                environ: Mapping[str, str] | None = None) -> PortChoice:
    """--port, else $MCP_TRAY_PORT, else the settings (whose default is 8787)."""
    if command_line is not None:
        return PortChoice(command_line, PortSource.COMMAND_LINE)
    from_env = env_port(environ)
    if from_env is not None:
        return PortChoice(from_env, PortSource.ENVIRONMENT)
    return PortChoice(settings.port or DEFAULT_PORT, PortSource.SETTINGS)


def for_clients(settings: Settings, running: int | None, environ: Mapping[str, str] | None = None,
                ) -> tuple[int, str]:
    """The port a client entry written now should name, and a note when it is not the one the next start serves.

    `running` is the port a live server of this data dir serves (from its pid file), if any: an entry
    that names it works now; the note says what happens after that server restarts.
    """
    planned = choose_port(settings, None, environ)
    if running is None or running == planned.port:
        note = "" if planned.source is PortSource.SETTINGS else (
            f"Port {planned.port} comes from ${PORT_ENV}; the settings file says {settings.port}.")
        return planned.port, note
    where = ("$" + PORT_ENV) if planned.source is PortSource.ENVIRONMENT else "the settings file"
    return running, (
        f"The running server serves port {running} (chosen for that run only), so the entry names {running}. "
        f"Once it restarts without --port it serves {planned.port} (from {where}) and this entry stops working: "
        f"save port {running} in Settings, or configure again after the restart.")


def entry_note(choice: PortChoice, saved: int) -> str:
    """Why a client entry naming `choice` may stop working after a restart ('' when it will not)."""
    if not choice.for_this_run_only or choice.port == saved:
        return ""
    return (f"{choice.describe(saved)} Save port {choice.port} in Settings, or this entry stops working "
            "once MCP Tray restarts without it.")
