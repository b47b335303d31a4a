"""build_parts assembles one server; the runner only runs it, and `reconfigure` applies settings under its lock."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from app.config import Settings
from app.secrets.keyring_store import Secret
from app.server.parts import KeyringSigner, build_parts
from app.server.port import PortChoice, PortSource
from app.server.runner import ServerRunner, ServerState


def test_build_parts_assembles_everything_from_the_settings(data_dir: Path) -> None:
    settings = Settings(access_token_ttl=120, refresh_token_ttl=3600, trusted_proxies=["10.0.0.0/8"])
    parts = build_parts(settings, data_dir, port=18787,
                        secret=Secret(b"k" * 32, persistent=True))
    try:
        assert (parts.lifetimes.access, parts.lifetimes.refresh) == (120, 3600)
        assert parts.identity.port == 18787 and parts.settings is settings
        assert ipaddress.ip_network("10.0.0.0/8") in parts.public.trusted
        assert parts.tools.data_dir == data_dir  # the registry of this data dir, with its plugins
        assert isinstance(parts.signer, KeyringSigner)
        assert parts.signer.approval_id(parts.signer.wait_token("abc")) == "abc"
    finally:
        parts.store.close()


def test_the_runner_runs_the_parts_it_is_given(data_dir: Path) -> None:
    parts = build_parts(Settings(), data_dir, secret=Secret(b"k" * 32, persistent=True))
    runner = ServerRunner(data_dir, "127.0.0.1", PortChoice(0, PortSource.COMMAND_LINE), parts=parts)
    try:
        assert runner.parts is parts and runner.tools is parts.tools and runner.held is parts.held
        runner.start()
        assert runner.wait_ready(15) and runner.state is ServerState.RUNNING
        assert parts.identity.port == runner.port != 0  # the identity follows the port it bound
        assert runner.port_choice == PortChoice(runner.port, PortSource.COMMAND_LINE)
    finally:
        runner.close()


def test_reconfigure_applies_at_once_what_needs_no_restart_and_the_port_next_start(data_dir: Path) -> None:
    runner = ServerRunner(data_dir, "127.0.0.1", 0, Settings(), secret=Secret(b"k" * 32, persistent=False))
    try:
        new = Settings(port=18787, ask_timeout=7, access_token_ttl=300, trusted_proxies=["192.168.1.5"])
        runner.reconfigure(new, PortChoice(18787, PortSource.SETTINGS))
        assert runner.settings is new and runner.parts is not None and runner.parts.settings is new
        assert runner.parts.lifetimes.access == 300
        assert ipaddress.ip_network("192.168.1.5/32") in runner.public.trusted
        assert runner.requested_port == 18787 and runner.port == 18787  # stopped: the next start binds it
    finally:
        runner.close()
