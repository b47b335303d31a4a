"""Sockets that never finish their request head cannot lock real clients out.

Any local process can open connections. Before, 1,100 sockets that each sent half a request
line used all 1,024 descriptors of the common default limit; accept() then failed and every
real client waited forever. The server runs here as `mcp-tray serve` under that limit.
"""

from __future__ import annotations

import contextlib
import resource
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.server.connections import HEAD_TIMEOUT
from tests.support.oauth import INITIALIZE, MCP_HEADERS
from tests.support.serve import REPO, app_command, free_port

SLOW = 1100
HALF_A_REQUEST = b"GET /mcp HTTP/1.1\r\nHost: 127.0.0.1"


@contextlib.contextmanager
def serve_with_fd_limit(data_dir: Path, soft: int, hard: int) -> Iterator[tuple[str, int]]:
    """`mcp-tray serve` with RLIMIT_NOFILE set to (soft, hard) before it starts; (base URL, pid)."""
    port = free_port()

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))

    proc = subprocess.Popen(app_command("serve", "--port", str(port), "--data-dir", str(data_dir)), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, preexec_fn=limit)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready.startswith("MCP server ready"), ready
        yield f"http://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


def _closed_by_server(sock: socket.socket, deadline: float) -> bool:
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return sock.recv(64) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def test_slow_sockets_do_not_lock_out_a_real_client_and_are_closed_after_the_head_timeout(data_dir: Path) -> None:
    if resource.getrlimit(resource.RLIMIT_NOFILE)[0] < SLOW + 200:
        pytest.skip("this test process may not open enough sockets itself")
    with serve_with_fd_limit(data_dir, 1024, 1024) as (base, _):
        port = int(base.rsplit(":", 1)[1])
        slow: list[socket.socket] = []
        try:
            for _ in range(SLOW):
                sock = socket.create_connection(("127.0.0.1", port), timeout=10)
                sock.sendall(HALF_A_REQUEST)
                slow.append(sock)
            # A real client is answered (401: it has no token yet); before, this timed out.
            answer = httpx.post(f"{base}/mcp", json=INITIALIZE, headers=MCP_HEADERS, timeout=10)
            assert answer.status_code == 401
            deadline = time.monotonic() + HEAD_TIMEOUT + 15
            still_open = [s for s in slow if not _closed_by_server(s, deadline)]
            assert still_open == [], f"{len(still_open)} of {SLOW} slow sockets are still open"
            assert httpx.get(f"{base}/health", timeout=10).status_code == 200
        finally:
            for sock in slow:
                sock.close()


def test_the_soft_open_file_limit_is_raised_to_the_hard_one(data_dir: Path) -> None:
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < 2048:
        pytest.skip(f"the hard limit ({hard}) leaves nothing to raise")
    with serve_with_fd_limit(data_dir, 1024, 2048) as (_, pid):
        limits = Path(f"/proc/{pid}/limits")
        if not limits.exists():
            pytest.skip("no /proc to read another process's limits from")
        line = next(row for row in limits.read_text().splitlines() if row.startswith("Max open files"))
        assert line.split()[3:5] == ["2048", "2048"], line  # before: 1024 2048
