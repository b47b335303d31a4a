"""One catalogue of MCP clients for the tray and the CLI; enums for event kinds with a label each."""

from __future__ import annotations

import types

from app.bridge.oauth import CLIENT_NAME
from app.clients import catalogue
from app.clients.catalogue import CLIENTS, ClientKey, client, signs_in_as
from app.clients.claude_desktop import bridge_entry, mcp_remote_entry
from app.commands.configure import client_choices
from app.store.kinds import EventKind
from app.ui.other_clients import CLIENTS as UI_CLIENTS
from app.ui.table_models import EVENT_LABELS, event_label

URL = "http://127.0.0.1:8787/mcp"


def test_every_client_is_in_the_catalogue_once_and_the_cli_offers_each() -> None:
    assert [c.key for c in CLIENTS] == list(ClientKey)
    assert client_choices() == sorted(k.value for k in ClientKey)
    assert {c.key for c in UI_CLIENTS} == set(ClientKey) - {ClientKey.CLAUDE_DESKTOP}  # Claude has its own box
    assert all(ui is client(ui.key) for ui in UI_CLIENTS)  # the same entries, so the same next-step words


def test_claude_desktops_next_step_names_the_client_the_owner_will_see() -> None:
    assert catalogue.BRIDGE_CLIENT_NAME == CLIENT_NAME
    claude = client(ClientKey.CLAUDE_DESKTOP)
    bridge = claude.after_write(bridge_entry(URL))
    assert "Restart Claude Desktop" in bridge and "browser page" in bridge and f"“{CLIENT_NAME}”" in bridge
    assert signs_in_as(mcp_remote_entry(URL, "/usr/bin/npx")) == catalogue.MCP_REMOTE_CLIENT_NAME
    assert "mcp-tray approve" in client("cursor").after_write({"url": URL})


def test_every_writer_is_a_module_with_the_protocols_functions() -> None:
    for info in CLIENTS:
        for name in ("entry_status", "write_entry", "remove_entry"):
            assert callable(getattr(info.writer, name)), (info.key, name)
        assert isinstance(info.writer, types.ModuleType)


def test_every_event_kind_has_a_label() -> None:
    assert set(EVENT_LABELS) == set(EventKind)
    assert event_label("authorized") == "Access granted"
    assert event_label("something newer") == "Something newer"
