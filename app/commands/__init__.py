"""Command-line commands. Each module adds its subparser (`register`) and sets `run(args, data_dir)`.

To add a command: write `app/commands/<noun>.py` with `register(sub, common)` and append it here.
"""

from __future__ import annotations

from types import ModuleType

from app.commands import (
    approvals_cli,
    audit_cli,
    autostart_cli,
    bridge,
    calls_cli,
    configure,
    panic_cli,
    passkeys_cli,
    serve,
    store_cli,
    tools_cli,
)

COMMAND_MODULES: tuple[ModuleType, ...] = (
    serve, approvals_cli, passkeys_cli, store_cli, tools_cli, configure, bridge, autostart_cli, audit_cli, calls_cli,
    panic_cli,
)
