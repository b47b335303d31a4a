"""Composition root: parse the command line and hand over to the right command.

`mcp-tray` alone starts the tray app (or, with no display, the headless server); the subcommands
(`serve`, `tokens`, `clients`, ...) work without any GUI. Each command module in `app/commands/`
adds its own subparser with `register(sub, common)` and sets `run(args, data_dir) -> int`; the
modules import their heavy parts lazily, inside `run`, so `mcp-tray --version` stays instant.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from typing import NoReturn

from app import __version__
from app.config import log_dir, resolve_data_dir
from app.logging_setup import configure, wanted_format
from app.permissions import UnsafePathError, set_private_umask
from app.store.db import URL_ENV
from app.store.sql import DatabaseError


def _common() -> argparse.ArgumentParser:
    """The options every command takes."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS,
                        help="where the database and settings live (default: the platform data dir, "
                        "or $MCP_TRAY_DATA_DIR)")
    common.add_argument("--database", default=argparse.SUPPRESS, metavar="postgresql://...",
                        help="keep the store in this PostgreSQL database instead of the data dir's SQLite file "
                        f"(default: ${URL_ENV}); settings, logs and the pid file stay in the data dir")
    return common


def _top(common: argparse.ArgumentParser, parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser,
         add_help: bool = True) -> argparse.ArgumentParser:
    """`mcp-tray` and the options of its own (the tray app's), without the commands."""
    parser = parser_class(
        prog="mcp-tray", parents=[common], add_help=add_help,
        description="A personal MCP server behind OAuth 2.1, run from your system tray.",
    )
    parser.add_argument("--version", action="version", version=f"mcp-tray {__version__}")
    parser.add_argument("--port", type=int, help="port for the server (default: from settings, 8787)")
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The whole command line."""
    common = _common()
    parser = _top(common)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    from app.commands import COMMAND_MODULES  # here, not at the top: `bridge URL` skips all of them

    for module in COMMAND_MODULES:
        module.register(sub, common)
    return parser


class _NotTheTrayApp(Exception):
    """The command line is not the tray app's alone (a command, --help, or a mistake to report)."""


class _TrayAppParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _NotTheTrayApp(message)


def tray_app_args(argv: Sequence[str]) -> argparse.Namespace | None:
    """The tray app's command line (no command, no --help), parsed without loading any command module.

    The command modules import what their commands need (the approvals command alone loads the MCP
    SDK); the tray app shows its icon before it loads that. None: the whole parser must look.
    """
    parser = _top(_common(), _TrayAppParser, add_help=False)
    try:
        args, rest = parser.parse_known_args(list(argv))
    except _NotTheTrayApp:
        return None
    if rest:
        return None
    args.command = None
    return args


def has_display() -> bool:
    """False when Qt would have nowhere to draw (Linux with no X11/Wayland and no platform chosen)."""
    if sys.platform != "linux":
        return True
    return any(os.environ.get(v) for v in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"))


def _plain_bridge(argv: Sequence[str]) -> str | None:
    """The URL of `bridge URL` given with nothing else (how clients start the bridge), else None."""
    if len(argv) == 2 and argv[0] == "bridge" and not argv[1].startswith("-"):
        return argv[1]
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `mcp-tray` and `python -m app`."""
    set_private_umask()  # before anything is created: the database, its -wal and -shm, logs, settings
    args_given = list(sys.argv[1:] if argv is None else argv)
    url = _plain_bridge(args_given)
    if url is not None:
        # Claude Desktop starts the bridge at its own start and waits for it: skip building the whole
        # command line (it imports every command module) and go straight to the quick start.
        from app.bridge.invocation import valid_url

        problem = valid_url(url)
        if problem is None:
            try:
                configure(log_dir(resolve_data_dir(None)), console_level=logging.WARNING)
            except UnsafePathError as exc:  # the bridge needs no data dir: say why there is no log, go on
                print(f"mcp-tray: no log file: {exc.refusing('use')}", file=sys.stderr)
            from app.bridge.fast import main as run_bridge

            return run_bridge(url)
    args = tray_app_args(args_given)
    if args is None:
        args = build_parser().parse_args(args_given)
    try:
        data_dir = resolve_data_dir(getattr(args, "data_dir", None))
        logs = log_dir(data_dir)
    except UnsafePathError as exc:
        print(f"mcp-tray: {exc.refusing('use')}", file=sys.stderr)
        return 2
    except OSError as exc:
        where = exc.filename or getattr(args, "data_dir", None) or "the data dir"
        print(f"mcp-tray: cannot use the data dir {where}: {exc.strerror or exc}. It must be a folder "
              "of your own account.", file=sys.stderr)
        return 2
    try:
        use_database(getattr(args, "database", None))
    except DatabaseError as exc:
        print(f"mcp-tray: {exc}", file=sys.stderr)
        return 2
    if args.command is None and not has_display():
        print("mcp-tray: no display found (DISPLAY and WAYLAND_DISPLAY are unset), so there is no tray; "
              "running the server headless instead.", file=sys.stderr)
        args = build_parser().parse_args(["serve", *([] if args.port is None else ["--port", str(args.port)])])
    try:
        if args.command is None:
            configure(logs, console_level=logging.WARNING)
            try:
                from app.ui.launch import run_gui
            except ModuleNotFoundError as exc:
                if (exc.name or "").split(".")[0] not in ("PySide6", "shiboken6"):
                    raise
                print("mcp-tray: the tray app needs Qt, which this install leaves out: pip install "
                      "'mcp-tray[desktop]'. A server needs none: `mcp-tray serve` (see docs/HOSTED.md).",
                      file=sys.stderr)
                return 2
            return int(run_gui(data_dir, args.port))
        configure(logs, console_level=getattr(args, "console_log_level", logging.WARNING),
                  log_format=wanted_format(getattr(args, "log_format", None)))
        return int(args.run(args, data_dir))
    except DatabaseError as exc:  # unreachable, refused, or a schema newer than ours: one line, no traceback
        print(f"mcp-tray: {exc}", file=sys.stderr)
        return 2


def use_database(flag: str | None) -> None:
    """Check the PostgreSQL URL of `--database` (or $MCP_TRAY_DATABASE_URL) and make it this process's.

    Every Store the command opens, and every process it starts, then uses it (app/store/db.py).
    DatabaseError when the URL cannot be used.
    """
    url = flag or os.environ.get(URL_ENV) or None
    if url is None:
        return
    from app.store.pg import check_url

    os.environ[URL_ENV] = check_url(url)


if __name__ == "__main__":
    raise SystemExit(main())
