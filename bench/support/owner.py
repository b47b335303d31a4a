"""The owner's channel in tests: `mcp-tray approvals list / approve / deny`, as the owner runs them.

A server started by a test is remembered with its data dir (`remember`), so a helper that only has
the authorization URL can still answer as the owner of that server. `owner_cli` runs the real
command-line code in this process (the same parser and command functions as `mcp-tray`, minus a
new interpreter); `owner_cli_process` runs `python -m app` as a separate process, as a person
typing in a terminal would.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[2]
# Child processes of a test (a $BROWSER script, say) find the servers through this file.
SERVERS_FILE_ENV = "MCP_TRAY_TEST_SERVERS"
_SERVERS: dict[int, Path] = {}
_DATABASES: dict[Path, str] = {}  # data dirs whose server keeps its store in PostgreSQL: the URL


def remember(port: int, data_dir: Path, database: str | None = None) -> None:
    """Note which data dir (and PostgreSQL URL, if any) the server on `port` uses (also for child
    processes, see SERVERS_FILE_ENV); the owner's commands for that data dir then pass `--database`."""
    _SERVERS[port] = Path(data_dir).resolve()
    if database:
        _DATABASES[_SERVERS[port]] = database
    shared = os.environ.get(SERVERS_FILE_ENV)
    if shared:
        with open(shared, "a", encoding="utf-8") as f:
            f.write(json.dumps({"port": port, "data_dir": str(_SERVERS[port]), "database": database}) + "\n")


def data_dir_for(url: str) -> Path:
    """The data dir of the server behind `url`: remembered here or by a parent process, else $MCP_TRAY_DATA_DIR."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if port in _SERVERS:
        return _SERVERS[port]
    shared = os.environ.get(SERVERS_FILE_ENV)
    if shared and os.path.exists(shared):
        with open(shared, encoding="utf-8") as f:
            for line in f:
                entry = json.loads(line)
                _SERVERS[int(entry["port"])] = Path(entry["data_dir"])  # the newest entry for a port wins
                if entry.get("database"):
                    _DATABASES[Path(entry["data_dir"])] = str(entry["database"])
        if port in _SERVERS:
            return _SERVERS[port]
    env = os.environ.get("MCP_TRAY_DATA_DIR")
    if env:
        return Path(env)
    raise AssertionError(f"no data dir known for the server at {url}; call owner.remember() (bench/support/owner.py)")


@dataclass(frozen=True)
class CliResult:
    """What a command printed, and its exit code."""

    code: int
    out: str
    err: str


OWNER_COMMAND_ENV = "MCP_TRAY_OWNER_COMMAND"  # e.g. the frozen bundle's executable, for its smoke test
_CLI_LOCK = threading.Lock()


def _where(data_dir: Path) -> list[str]:
    """`--data-dir DIR`, and `--database URL` when that data dir's server keeps its store in PostgreSQL."""
    database = _DATABASES.get(Path(data_dir).resolve())
    return ["--data-dir", str(data_dir), *(["--database", database] if database else [])]


def owner_cli(data_dir: Path, *argv: str) -> CliResult:
    """Run `mcp-tray ARGV --data-dir DATA_DIR [--database URL]` in this process (or with
    $MCP_TRAY_OWNER_COMMAND, as that program)."""
    command = os.environ.get(OWNER_COMMAND_ENV)
    if command:
        done = subprocess.run([command, *argv, *_where(data_dir)], capture_output=True, text=True, timeout=60)
        return CliResult(done.returncode, done.stdout, done.stderr)
    from app.main import build_parser

    args = build_parser().parse_args([*argv, *_where(data_dir)])
    out, err = io.StringIO(), io.StringIO()
    # sys.stdout is one per process: clients signing in from several threads answer one at a time.
    with _CLI_LOCK, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = int(args.run(args, Path(data_dir).resolve()))
    return CliResult(code, out.getvalue(), err.getvalue())


def owner_cli_process(data_dir: Path, *argv: str, user: str | None = None) -> CliResult:
    """Run `python -m app ARGV --data-dir DATA_DIR [--database URL]` as a separate process (as `user` with runuser)."""
    command = [sys.executable, "-m", "app", *argv, *_where(data_dir)]
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=60,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    return CliResult(done.returncode, done.stdout, done.stderr)


def pending(data_dir: Path) -> list[dict[str, Any]]:
    """`mcp-tray approvals list --json`."""
    result = owner_cli(data_dir, "approvals", "list", "--json")
    if result.code != 0:
        raise AssertionError(f"approvals list failed ({result.code}): {result.err}")
    rows: list[dict[str, Any]] = json.loads(result.out)
    return rows


def find_pending(data_dir: Path, match_code: str) -> dict[str, Any]:
    """The waiting request with this match code."""
    for row in pending(data_dir):
        if row["code"] == match_code:
            return row
    raise AssertionError(f"no waiting request with code {match_code} in {data_dir}")


def answer(data_dir: Path, match_code: str, action: str = "approve", scopes: list[str] | None = None,
           lifetime: str = "30d") -> CliResult:
    """Approve (with exactly these tool groups, default: the ones the client asked for) or deny."""
    if action == "deny":
        result = owner_cli(data_dir, "deny", match_code)
    else:
        wanted = find_pending(data_dir, match_code)["requested_tool_groups"] if scopes is None else scopes
        flags = [f for s in wanted for f in ("--scope", s)]
        result = owner_cli(data_dir, "approve", match_code, *flags, "--for", lifetime)
    if result.code != 0:
        raise AssertionError(f"mcp-tray {action} {match_code} failed ({result.code}): {result.err}")
    return result
