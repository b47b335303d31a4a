"""The waiting page in real chromium (Playwright): what it shows, going on by itself, and framing.

The owner answers with the CLI here; tests/ui/test_approval_window.py answers in the tray window.
Set UPDATE_SCREENSHOTS=1 to refresh docs/screenshots/waiting-room.png from this run.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, sync_playwright

from app.auth.scopes import describe
from app.server.runner import ServerRunner
from tests.conftest import parts_of
from tests.support import owner
from tests.support.consent import query_of
from tests.support.oauth import OAuthClient, pkce_pair

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "screenshots" / "waiting-room.png"


class LocalSite:
    """A tiny HTTP server on a free loopback port: records /callback hits and serves fixed pages."""

    def __init__(self, pages: dict[str, str] | None = None) -> None:
        self.hits: list[str] = []
        self.got_callback = threading.Event()
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/callback":
                    site.hits.append(self.path)
                    site.got_callback.set()
                body = (pages or {}).get(path, "<!doctype html><title>done</title><p>You can close this tab.</p>")
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def site() -> Iterator[LocalSite]:
    served = LocalSite()
    yield served
    served.close()


@pytest.fixture
def page(tmp_path: Path) -> Iterator[Page]:
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"),
            executable_path=CHROMIUM,
            headless=True,
            args=ARGS,
            viewport={"width": 720, "height": 820},
        )
        try:
            yield context.pages[0] if context.pages else context.new_page()
        finally:
            context.close()


def _open_waiting_page(page: Page, server: ServerRunner, site: LocalSite) -> tuple[OAuthClient, str, str]:
    """(client, PKCE verifier, match code) with the waiting page open in chromium."""
    client = OAuthClient(server.base_url, name="Claude Desktop", redirect=f"http://127.0.0.1:{site.port}/callback")
    verifier, challenge = pkce_pair()
    page.goto(client.authorize_url(challenge, state="browser-state", scope="mcp offline_access tools:files"))
    page.wait_for_selector("#match-code")
    return client, verifier, page.locator("#match-code").inner_text()


def test_waiting_page_shows_the_request_then_goes_on_by_itself_when_the_owner_approves(
    page: Page, server: ServerRunner, site: LocalSite, data_dir: Path, tmp_path: Path
) -> None:
    client, verifier, code = _open_waiting_page(page, server, site)
    try:
        assert page.locator("h1 .client").inner_text() == "Claude Desktop"
        assert "unverified" in page.locator(".identity").inner_text()
        assert page.locator("code.redirect").inner_text() == f"127.0.0.1:{site.port}"
        assert "python" in page.locator(".facts").inner_text().lower()  # this test's own callback server listens
        scopes = page.locator("ul.scopes").first.inner_text()
        assert describe("mcp") in scopes and describe("offline_access") in scopes
        assert page.locator("button").count() == 0 and page.locator("form").count() == 0
        assert [p["code"] for p in owner.pending(data_dir)] == [code]
        shot = tmp_path / "waiting.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        if os.environ.get("UPDATE_SCREENSHOTS"):
            shutil.copyfile(shot, SCREENSHOT)
        page.wait_for_timeout(1500)  # the page keeps waiting: nothing happens without the owner
        assert site.hits == []
        owner.answer(data_dir, code, scopes=[])
        assert site.got_callback.wait(10), "the page did not go on by itself"
        page.wait_for_url(f"http://127.0.0.1:{site.port}/callback?*")
        query = query_of(site.hits[0])
        assert query["state"] == "browser-state" and query["iss"] == server.base_url and query["code"]
        tokens = client.exchange(query["code"], verifier)
        assert tokens.status_code == 200 and client.mcp(tokens.json()["access_token"]).status_code == 200
        assert "tools:files" not in tokens.json()["scope"]  # asked for, not turned on by the owner
    finally:
        client.close()


def test_owner_deny_sends_the_browser_on_with_access_denied(
    page: Page, server: ServerRunner, site: LocalSite, data_dir: Path
) -> None:
    client, _, code = _open_waiting_page(page, server, site)
    try:
        owner.answer(data_dir, code, "deny")
        assert site.got_callback.wait(10)
        query = query_of(site.hits[0])
        assert query["error"] == "access_denied" and query["state"] == "browser-state" and "code" not in query
        assert parts_of(server).store.list_tokens() == []
    finally:
        client.close()


def test_framed_consent_page_shows_nothing(page: Page, server: ServerRunner) -> None:
    client = OAuthClient(server.base_url, name="Framed app")
    try:
        _, challenge = pkce_pair()
        authorize = client.authorize_url(challenge)
        evil = LocalSite(
            {
                "/frame": f"<!doctype html><title>evil</title><h1>Click here</h1>"
                f'<iframe id="victim" src="{authorize}" width="600" height="600"></iframe>'
            }
        )
        try:
            page.goto(f"http://localhost:{evil.port}/frame")
            page.wait_for_load_state("load")
            page.wait_for_timeout(500)  # let the frame's navigation settle
            frames = [f for f in page.frames if f != page.main_frame]
            assert len(frames) == 1
            frame = frames[0]
            # Chromium replaces a frame refused by X-Frame-Options / frame-ancestors with an empty error page.
            shown = frame.evaluate("document.body ? document.body.innerText : ''")
            assert "Framed app" not in shown and "waiting for your approval" not in shown
            assert frame.locator("#match-code").count() == 0
            assert not frame.url.startswith(server.base_url + "/consent") or shown == ""
        finally:
            evil.close()
    finally:
        client.close()
