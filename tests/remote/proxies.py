"""Real reverse proxies for the tests: Caddy (its internal CA) and nginx (a self-signed certificate)
in front of the server, serving packaging/remote's configs under the public-looking name
mcp.example.test, which only the test's own clients resolve (to loopback)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

import pytest

from tests.support.serve import REPO, app_command, free_port

TEST_HOST = "mcp.example.test"
CONFIGS = REPO / "packaging" / "remote"
RESOLVE_DIR = Path(__file__).resolve().parent / "resolve"  # sitecustomize.py and resolve_node.cjs
RESOLVE_ENV = "MCP_TRAY_TEST_RESOLVE"


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}: {log.read_text()[-2000:]}")


class Proxy:
    """A running proxy: its public URL, the CA file clients must trust, and stop()."""

    name = "proxy"

    def __init__(self) -> None:
        self.port = free_port()
        self.public_url = f"https://{TEST_HOST}:{self.port}"
        self.ca_file: Path
        self.proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        """Stop the proxy (the public URL stops answering)."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


class Caddy(Proxy):
    """`caddy run` with packaging/remote/Caddyfile, `tls internal`, data (and its root CA) in `work`."""

    name = "caddy"

    def __init__(self, work: Path, upstream_port: int) -> None:
        super().__init__()
        if shutil.which("caddy") is None:
            pytest.fail("caddy is not installed; scripts/setup.sh --test installs Debian's caddy")
        work.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "HOME": str(work), "XDG_DATA_HOME": str(work / "data"),
               "XDG_CONFIG_HOME": str(work / "config"), "MCP_PUBLIC_HOST": f"{TEST_HOST}:{self.port}",
               "MCP_TLS": "internal", "MCP_UPSTREAM": f"127.0.0.1:{upstream_port}",
               "MCP_HTTP_PORT": str(free_port())}
        log = work / "caddy.log"
        with log.open("wb") as out:  # the child keeps its own copy of the descriptor
            self.proc = subprocess.Popen(["caddy", "run", "--config", str(CONFIGS / "Caddyfile"), "--adapter",
                                          "caddyfile"], cwd=work, env=env, stdout=out, stderr=subprocess.STDOUT)
        self.ca_file = work / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        _wait_port(self.port, self.proc, "caddy", log)
        deadline = time.monotonic() + 30
        while not self.ca_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)


class Nginx(Proxy):
    """nginx with packaging/remote/nginx-mcp-tray.conf (name, port, certificate and upstream filled in)."""

    name = "nginx"

    def __init__(self, work: Path, upstream_port: int) -> None:
        super().__init__()
        nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
        if nginx is None:
            pytest.fail("nginx is not installed; scripts/setup.sh --test installs Debian's nginx")
        work.mkdir(parents=True, exist_ok=True)
        cert, key = work / "cert.pem", work / "key.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj",
                        f"/CN={TEST_HOST}", "-addext", f"subjectAltName=DNS:{TEST_HOST}", "-keyout", str(key),
                        "-out", str(cert)], check=True, capture_output=True)
        self.ca_file = cert
        block = (CONFIGS / "nginx-mcp-tray.conf").read_text()
        for documented, actual in (("listen 443 ssl;", f"listen 127.0.0.1:{self.port} ssl;"),
                                   ("/etc/letsencrypt/live/mcp.example.com/fullchain.pem", str(cert)),
                                   ("/etc/letsencrypt/live/mcp.example.com/privkey.pem", str(key)),
                                   ("mcp.example.com", TEST_HOST),
                                   ("127.0.0.1:8787", f"127.0.0.1:{upstream_port}")):
            assert documented in block, f"nginx-mcp-tray.conf no longer has {documented!r}"
            block = block.replace(documented, actual)
        (work / "mcp-tray.conf").write_text(block)
        user = "user root;\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
        temp = "\n".join(f"    {kind}_temp_path {work / kind};" for kind in
                         ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        (work / "nginx.conf").write_text(
            f"{user}daemon off;\nworker_processes 1;\npid {work / 'nginx.pid'};\nerror_log {work / 'error.log'};\n"
            f"events {{}}\nhttp {{\n    access_log off;\n{temp}\n    include {work / 'mcp-tray.conf'};\n}}\n")
        log = work / "nginx.log"
        with log.open("wb") as out:
            self.proc = subprocess.Popen([nginx, "-p", str(work), "-c", str(work / "nginx.conf")], cwd=work,
                                         stdout=out, stderr=subprocess.STDOUT)
        _wait_port(self.port, self.proc, "nginx", work / "error.log" if (work / "error.log").exists() else log)


class PublicServe:
    """`mcp-tray serve --public-url URL` as a subprocess (remote access on, no auto-off during the test)."""

    def __init__(self, data_dir: Path, public_url: str, port: int | None = None, extra: Sequence[str] = ()) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.public_url = public_url
        self.proc = subprocess.Popen(
            app_command("serve", "--port", str(self.port), "--data-dir", str(data_dir), "--public-url", public_url,
                        "--auto-off", "never", *extra),
            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        lines = [self.proc.stdout.readline().strip(), self.proc.stdout.readline().strip()]
        if lines != [f"MCP server ready at {self.base}/mcp", f"Public URL ready at {public_url}/mcp"]:
            self.proc.kill()
            raise RuntimeError(f"serve did not start as expected: {lines} {self.proc.communicate(timeout=10)[1]}")

    def stop(self) -> None:
        """SIGTERM and wait."""
        self.proc.terminate()
        self.proc.communicate(timeout=20)


def trust_in_profile(home: Path, ca_file: Path) -> None:
    """Chromium on Linux reads $HOME/.pki/nssdb: trust the proxy's root there, for this profile only."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, capture_output=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "caddy-test-root", "-i", str(ca_file)],
                   check=True, capture_output=True)


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
        return original("127.0.0.1" if name == TEST_HOST else host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setenv("SSL_CERT_FILE", str(proxy.ca_file))


__all__ = ["TEST_HOST", "Caddy", "Nginx", "PublicServe", "client_env", "resolve_in_this_process", "trust_in_profile"]
