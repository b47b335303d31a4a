"""Real reverse proxies: Caddy (its internal CA) and nginx (a self-signed certificate) in front of the server,
serving packaging/remote's configs under the public-looking name mcp.example.test, which only the
clients of a test or benchmark resolve (to loopback; tests/remote/proxies.py)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

from bench.support.serve import REPO, free_port

TEST_HOST = "mcp.example.test"
CONFIGS = REPO / "packaging" / "remote"


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
            raise RuntimeError("caddy is not installed; scripts/setup.sh --test installs Debian's caddy")
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
            raise RuntimeError("nginx is not installed; scripts/setup.sh --test installs Debian's nginx")
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
