"""A windowed build has sys.stdout and sys.stderr set to None: the CLI and the server must run regardless.

Each case starts `python -m app` with both streams set to None before anything is imported, the way
PyInstaller's windowed bootloader (Windows, macOS) starts the app. A write to None would end the
process with status 1 and, having no stderr, silently: the exit status and the log file tell.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.support.serve import free_port

ROOT = Path(__file__).resolve().parents[2]
BOOT = (
    "import runpy, sys; sys.stdout = sys.stderr = None; sys.argv = ['mcp-tray', *{args!r}]; "
    "runpy.run_module('app', run_name='__main__', alter_sys=True)"
)


def windowed(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """`mcp-tray ARGS` with no stdout and no stderr objects (the OS-level pipes are kept to prove silence)."""
    return subprocess.Popen(
        [sys.executable, "-c", BOOT.format(args=args)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def test_version_and_cli_commands_exit_cleanly(data_dir: Path) -> None:
    for args in (
        ["--version"],
        ["--data-dir", str(data_dir), "tokens", "list", "--json"],
        ["--data-dir", str(data_dir), "clients", "remove", "no-such-client"],
    ):
        child = windowed(args)
        out, err = child.communicate(timeout=60)
        expected = 1 if "remove" in args else 0  # an unknown client is an error, reported not crashed
        assert child.returncode == expected, (args, err)
        assert (out, err) == (b"", b"")


def test_serve_runs_warns_into_the_log_and_stops_on_sigterm(data_dir: Path) -> None:
    port = free_port()
    # No keyring backend: the warning path runs too, and must go to the log file only.
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring"}
    child = windowed(["serve", "--port", str(port), "--data-dir", str(data_dir)], env)
    try:
        deadline = time.monotonic() + 30
        while True:
            assert child.poll() is None, child.communicate()
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the windowed server never answered"
                time.sleep(0.1)
        assert health.status_code == 200
        meta = httpx.get(f"http://127.0.0.1:{port}/.well-known/oauth-authorization-server", timeout=5)
        assert json.loads(meta.text)["issuer"] == f"http://127.0.0.1:{port}"
    finally:
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert (out, err) == (b"", b"")
    log = (data_dir / "logs" / "mcp-tray.log").read_text(encoding="utf-8")
    assert "no OS keyring is available" in log
    assert "Traceback" not in log
