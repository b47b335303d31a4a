"""`mcp-tray serve`: ready line only once it accepts connections, clean exits, a taken port, no display."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.serve import REPO, ServeProcess, app_command, free_port


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_ready_line_then_clean_exit(data_dir: Path, sig: int) -> None:
    with ServeProcess(data_dir) as serve:
        assert serve.ready_line == f"MCP server ready at http://127.0.0.1:{serve.port}/mcp"
        # The line comes only once the socket accepts connections: this request must succeed now.
        assert httpx.get(f"{serve.base}/health", timeout=5).json()["status"] == "ok"
        code, err = serve.stop(sig)
    assert code == 0, err
    assert "Traceback" not in err


def test_serve_exits_with_clients_connected(data_dir: Path) -> None:
    """An open SSE stream must not keep the server alive after SIGTERM."""
    from tests.support.oauth import obtain_tokens

    with ServeProcess(data_dir) as serve:
        tokens = obtain_tokens(serve.base)
        with httpx.stream("GET", f"{serve.base}/sse", headers={"Authorization": f"Bearer {tokens.access_token}"},
                          timeout=10) as stream:
            assert stream.status_code == 200
            code, err = serve.stop(signal.SIGTERM, timeout=15)
    assert code == 0, err


def test_serve_port_taken_says_so_and_fails(data_dir: Path) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        done = subprocess.run(app_command("serve", "--port", str(port), "--data-dir", str(data_dir)),
                              cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode != 0
    assert done.stdout == ""
    lines = [line for line in done.stderr.splitlines() if line.startswith("mcp-tray:")]
    assert len(lines) == 1 and f"port {port}" in lines[0] and "already in use" in lines[0]
    assert "Traceback" not in done.stderr


def test_plain_mcp_tray_without_display_runs_headless(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    port = free_port()
    proc = subprocess.Popen(app_command("--data-dir", str(data_dir), "--port", str(port)), cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"MCP server ready at http://127.0.0.1:{port}/mcp"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0
    assert "no display found" in err


def test_data_dir_from_environment(tmp_path: Path) -> None:
    env = {**os.environ, "MCP_TRAY_DATA_DIR": str(tmp_path / "from-env")}
    done = subprocess.run(app_command("tokens", "list"), cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=30)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "from-env" / "mcp-tray.sqlite3").exists()


def test_version_and_python_m_app_match() -> None:
    done = subprocess.run(app_command("--version"), cwd=REPO, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.startswith("mcp-tray ")
