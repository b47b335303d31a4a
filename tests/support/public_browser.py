"""A server reached through its public URL, as an approver away from the desk reaches it, and the browser for it.

Caddy (TLS, its internal CA) in front of `mcp-tray serve --public-url`, a callback site for the
client, and Debian's chromium that trusts Caddy's root through its own NSS database in a private
HOME (nothing machine-wide) and resolves mcp.example.test to loopback. The passkey and the OpenID
Connect tests (tests/remote) both approve on the waiting page through this.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Playwright, sync_playwright

from app.store.rows import PendingApproval
from app.store.store import Store
from tests.remote.proxies import TEST_HOST, Caddy, trust_in_profile
from tests.security.test_consent_browser import ARGS, CHROMIUM, LocalSite
from tests.support import owner
from tests.support.consent import query_of
from tests.support.oauth import OAuthClient, pkce_pair
from tests.support.serve import ServeProcess, free_port


@dataclass
class PublicServer:
    """Caddy, the server behind it, its data dir, a callback site, and Playwright to start chromium with."""

    caddy: Caddy
    serve: ServeProcess
    data_dir: Path
    site: LocalSite
    playwright: Playwright
    home: Path

    @property
    def public(self) -> str:
        return self.caddy.public_url

    @property
    def chromium(self) -> dict[str, Any]:
        """Keyword arguments for `launch` or `launch_persistent_context`: the public name and CA work in it."""
        return {"executable_path": CHROMIUM, "headless": True,
                "args": [*ARGS, f"--host-resolver-rules=MAP {TEST_HOST} 127.0.0.1"],
                "env": {**os.environ, "HOME": str(self.home)}}

    def start_sign_in(self, page: Page, name: str, state: str) -> tuple[OAuthClient, str, str]:
        """A client registers through the public URL; `page` opens /authorize and lands on the waiting page.

        (client, PKCE verifier, the waiting page's `wait` token)."""
        client = OAuthClient(self.public, name=name, redirect=f"http://127.0.0.1:{self.site.port}/callback")
        verifier, challenge = pkce_pair()
        page.goto(client.authorize_url(challenge, state=state, scope="mcp offline_access tools:files"))
        page.wait_for_selector("#match-code")
        return client, verifier, query_of(page.url)["wait"]

    def approval(self, wait: str) -> PendingApproval:
        """The sign-in request of a waiting page's `wait` token, as the store has it now."""
        store = Store(self.data_dir)
        try:
            found = store.approvals.get(wait.split(".", 1)[0])
            assert found is not None
            return found
        finally:
            store.close()


@contextmanager
def public_server(tmp: Path, serve_args: Callable[[str], list[str]] | None = None) -> Iterator[PublicServer]:
    """Start it all in `tmp`; `serve_args(public_url)` gives more `mcp-tray serve` arguments."""
    if shutil.which("certutil") is None:
        pytest.fail("certutil is not installed; scripts/setup.sh --test installs libnss3-tools")
    data_dir = tmp / "data"
    data_dir.mkdir()
    port = free_port()
    caddy = Caddy(tmp / "caddy", port)
    site = LocalSite()
    try:
        extra = serve_args(caddy.public_url) if serve_args is not None else []
        serve = ServeProcess(data_dir, port, public_url=caddy.public_url, extra=extra)
        try:
            owner.remember(int(urlsplit(caddy.public_url).port or 443), data_dir)
            owner.remember(port, data_dir)
            home = tmp / "home"
            trust_in_profile(home, caddy.ca_file)
            with sync_playwright() as playwright:
                yield PublicServer(caddy, serve, data_dir, site, playwright, home)
        finally:
            serve.stop()
    finally:
        site.close()
        caddy.stop()
