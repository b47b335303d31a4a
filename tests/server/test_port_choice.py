"""One rule for the port: --port, else $MCP_TRAY_PORT, else settings.json; and what a client entry should name."""

from __future__ import annotations

from app.config import Settings
from app.server.port import PortChoice, PortSource, choose_port, entry_note, env_port, for_clients


def test_command_line_beats_environment_beats_settings() -> None:
    settings = Settings(port=9000)
    assert choose_port(settings, 18787, {"MCP_TRAY_PORT": "9100"}) == PortChoice(18787, PortSource.COMMAND_LINE)
    assert choose_port(settings, None, {"MCP_TRAY_PORT": "9100"}) == PortChoice(9100, PortSource.ENVIRONMENT)
    assert choose_port(settings, None, {}) == PortChoice(9000, PortSource.SETTINGS)


def test_a_bad_environment_port_is_ignored() -> None:
    for raw in ("", "abc", "0", "70000", "-1"):
        assert env_port({"MCP_TRAY_PORT": raw}) is None
    assert choose_port(Settings(port=9000), None, {"MCP_TRAY_PORT": "x"}).source is PortSource.SETTINGS


def test_describe_names_the_source_and_the_saved_port() -> None:
    assert PortChoice(9000).describe(9000) == "Port 9000, from the settings file."
    text = PortChoice(18787, PortSource.COMMAND_LINE).describe(8787)
    assert "18787" in text and "--port for this run only" in text and "settings file says 8787" in text
    assert "$MCP_TRAY_PORT" in PortChoice(9100, PortSource.ENVIRONMENT).describe(8787)


def test_entry_note_only_when_a_restart_would_move_the_port() -> None:
    assert entry_note(PortChoice(8787), 8787) == ""
    assert entry_note(PortChoice(8787, PortSource.COMMAND_LINE), 8787) == ""
    assert "Save port 18787 in Settings" in entry_note(PortChoice(18787, PortSource.COMMAND_LINE), 8787)


def test_for_clients_prefers_the_running_port_and_says_why() -> None:
    assert for_clients(Settings(port=8787), None, {}) == (8787, "")
    assert for_clients(Settings(port=8787), 8787, {}) == (8787, "")
    port, note = for_clients(Settings(port=8787), 18787, {})
    assert port == 18787 and "serves port 18787" in note and "serves 8787 (from the settings file)" in note
