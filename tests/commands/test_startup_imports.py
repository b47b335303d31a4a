"""The default paths import only what they use: `mcp-tray serve` on SQLite with one process, and the command line.

PostgreSQL's driver, OIDC sign-in, passkeys' WebAuthn library, httpx (the SSE relay between workers)
and Qt each cost start-up time and memory, and the default `serve` never needs them until a
request does; the command line (`--version`, `tokens list`, ...) needs no MCP SDK at all. Each test
runs the real code in a fresh interpreter and reads its sys.modules (start-up time itself is
measured in bench/startup.py, not asserted here). `serve` also pauses the garbage collector while
it starts (app/commands/gc_pause.py, StartWithoutGc): it must be on again once the server runs.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.support.serve import REPO, free_port

# Top-level packages the default `serve` must not load (each is imported where it is used).
NOT_ON_THE_DEFAULT_PATH = ("psycopg", "psycopg_pool", "psycopg_binary", "authlib", "joserfc", "webauthn",
                           "OpenSSL", "httpx", "PySide6", "shiboken6")
LOADED = "sorted({m.split('.')[0] for m in sys.modules} & set(%r))"


def test_default_serve_imports_no_postgresql_oidc_webauthn_or_qt(tmp_path: Path) -> None:
    port = free_port()
    code = f"""
import sys
import app.main
code = app.main.main(["serve", "--port", "{port}", "--data-dir", {str(tmp_path)!r}])
print("loaded:", {LOADED % (NOT_ON_THE_DEFAULT_PATH,)}, flush=True)
import gc
print("collector on:", gc.isenabled(), "start-up frozen:", gc.get_freeze_count() > 0, flush=True)
raise SystemExit(code)
"""
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout is not None
    try:
        ready = proc.stdout.readline().strip()
    finally:
        proc.terminate()  # the server was up: its parts were built and it accepted connections
        out, err = proc.communicate(timeout=30)
    assert ready == f"MCP server ready at http://127.0.0.1:{port}/mcp", err
    assert proc.returncode == 0, err
    assert out.strip().splitlines() == ["loaded: []", "collector on: True start-up frozen: True"], err


def test_the_collector_paused_for_the_start_is_back_on_after_a_failed_start() -> None:
    code = """
import gc
from app.commands.gc_pause import StartWithoutGc
try:
    with StartWithoutGc():
        print("paused:", not gc.isenabled())
        raise OSError("the port is taken")
except OSError:
    pass
print("on again:", gc.isenabled(), "frozen:", gc.get_freeze_count())
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["paused:", "True", "on", "again:", "True", "frozen:", "0"]


def test_the_command_line_is_built_without_the_mcp_sdk() -> None:
    code = f"""
import sys
import app.main
app.main.build_parser().parse_args(["tokens", "list"])  # what `mcp-tray --version` and every command build
print("loaded:", {LOADED % (("mcp", "mcp_types", "pydantic", *NOT_ON_THE_DEFAULT_PATH),)})
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "loaded: []"

