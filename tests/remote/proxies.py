"""The reverse proxies of bench/support/proxies.py, and how the tests' clients reach them by name."""

from __future__ import annotations

import os
import socket
import subprocess
from pathlib import Path

import pytest

from bench.support.proxies import TEST_HOST, Caddy, Nginx, Proxy
from bench.support.serve import REPO

RESOLVE_DIR = Path(__file__).resolve().parent / "resolve"  # sitecustomize.py and resolve_node.cjs
RESOLVE_ENV = "MCP_TRAY_TEST_RESOLVE"

__all__ = ["TEST_HOST", "Caddy", "Nginx", "Proxy", "client_env", "resolve_in_this_process", "trust_in_profile"]


def client_env(proxy: Proxy, base: dict[str, str] | None = None) -> dict[str, str]:
    """Environment for client subprocesses: the test name resolves to loopback, the proxy's CA is trusted."""
    env = dict(base if base is not None else os.environ)
    env[RESOLVE_ENV] = TEST_HOST
    env["SSL_CERT_FILE"] = str(proxy.ca_file)  # Python clients (httpx, the SDK's httpx2)
    env["NODE_EXTRA_CA_CERTS"] = str(proxy.ca_file)  # Node clients (mcp-remote)
    env["NODE_OPTIONS"] = f"--require {RESOLVE_DIR / 'resolve_node.cjs'}"
    env["PYTHONPATH"] = os.pathsep.join([str(RESOLVE_DIR), env.get("PYTHONPATH", str(REPO))])
    return env


def resolve_in_this_process(monkeypatch: pytest.MonkeyPatch, proxy: Proxy) -> None:
    """The test's own clients: mcp.example.test -> 127.0.0.1 and the proxy's CA trusted (env, no global trust)."""
    original = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else host  # anyio passes IDNA-encoded bytes
        return original("127.0.0.1" if name == TEST_HOST else host, *args, **kwargs)  # type: ignore[arg-type]  # as given

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("SSL_CERT_FILE", str(proxy.ca_file))



def trust_in_profile(home: Path, ca_file: Path) -> None:
    """Chromium on Linux reads $HOME/.pki/nssdb: trust the proxy's root there, for this profile only."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "caddy-test-root", "-i", str(ca_file)],
                   check=True, capture_output=True)
