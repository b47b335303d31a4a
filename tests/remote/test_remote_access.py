"""Remote access on and off: the public URL opens and closes with it, and it ends itself on a timer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.auth.origins import PublicOrigin, parse_public_url
from app.remote.access import RemoteAccess, RemoteState
from app.remote.ingress import IngressError, OwnProxy
from app.remote.schedule import auto_off_at
from app.server.runner import ServerRunner
from tests.conftest import parts_of, start_runner
from tests.remote.headers import PUBLIC, mint, via_proxy
from tests.support.oauth import register
from tests.support.serve import ServeProcess

METADATA = "/.well-known/oauth-authorization-server"


class RecordingIngress:
    """A stand-in ingress (unit level) that records start and stop."""

    name = "test ingress"
    warning = ""

    def __init__(self, fail: IngressError | None = None) -> None:
        self.calls: list[str] = []
        self.fail = fail

    def start(self, local_url: str) -> PublicOrigin:
        self.calls.append(f"start {local_url}")
        if self.fail is not None:
            raise self.fail
        return parse_public_url(PUBLIC)

    def stop(self) -> None:
        self.calls.append("stop")


@pytest.fixture
def running(data_dir: Path) -> Iterator[ServerRunner]:
    runner = start_runner(data_dir)
    yield runner
    runner.close()


def public_status(runner: ServerRunner) -> int:
    return httpx.get(runner.base_url + METADATA, headers=via_proxy()).status_code


def test_start_opens_and_stop_closes_and_revokes(running: ServerRunner) -> None:
    ingress = RecordingIngress()
    assert public_status(running) == 421  # off by default
    status = running.remote.start(ingress, running.base_url, "never")
    assert status.state is RemoteState.ON and status.public_url == f"{PUBLIC}/mcp" and status.until is None
    assert public_status(running) == 200
    client_id = register(running.base_url, "phone")
    mint(running, client_id, f"{PUBLIC}/mcp", remote=True)
    assert running.remote.stop() == 1
    assert ingress.calls == [f"start {running.base_url}", "stop"]
    assert public_status(running) == 421 and running.remote.status().state is RemoteState.OFF
    events = [e.detail for e in parts_of(running).store.recent_events() if e.kind == "remote access"]
    assert events[0].startswith("off (remote access stopped); 1 remote sign-in revoked")
    assert events[1].startswith(f"on at {PUBLIC} through test ingress")


def test_a_failed_ingress_leaves_remote_access_off(running: ServerRunner) -> None:
    ingress = RecordingIngress(IngressError("ngrok needs an auth token.", kind="no_auth_token"))
    with pytest.raises(IngressError, match="auth token"):
        running.remote.start(ingress, running.base_url, "8h")
    status = running.remote.status()
    assert status.state is RemoteState.ERROR and "auth token" in (status.error or "")
    assert ingress.calls[-1] == "stop" and public_status(running) == 421


def test_auto_off_is_a_timer_that_closes_and_revokes(running: ServerRunner) -> None:
    # A clock 8 hours minus a moment behind: the 8-hour timer is due half a second from now.
    remote = RemoteAccess(running.public, lambda: parts_of(running).store if running.parts else None,
                          now=lambda: time.time() - 8 * 3600 + 0.5)
    remote.start(RecordingIngress(), running.base_url, "8h")
    assert any(t.name == "remote-auto-off" for t in threading.enumerate())  # waiting, not polling
    client_id = register(running.base_url, "phone")
    access, _ = mint(running, client_id, f"{PUBLIC}/mcp", remote=True)
    assert public_status(running) == 200
    deadline = time.monotonic() + 10
    while remote.status().on and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not remote.status().on and public_status(running) == 421
    assert (check := parts_of(running).store.check_token(access)) is not None and check.revoked
    assert not any(t.name == "remote-auto-off" for t in threading.enumerate())


def test_auto_off_choices() -> None:
    now = time.mktime((2031, 3, 14, 15, 9, 26, 0, 0, -1))
    assert auto_off_at("8h", now) == now + 8 * 3600
    assert auto_off_at("never", now) is None
    midnight = time.localtime(auto_off_at("midnight", now))
    assert (midnight.tm_mday, midnight.tm_hour, midnight.tm_min) == (15, 0, 0)
    new_year = time.localtime(auto_off_at("midnight", time.mktime((2031, 12, 31, 23, 0, 0, 0, 0, -1))))
    assert (new_year.tm_year, new_year.tm_mon, new_year.tm_mday) == (2032, 1, 1)


def test_own_proxy_needs_a_public_url() -> None:
    with pytest.raises(IngressError, match="No public URL") as caught:
        OwnProxy(None).start("http://127.0.0.1:1")
    assert caught.value.kind == "not_configured" and "Settings > Remote access" in str(caught.value)


def test_serve_public_url_says_when_it_turns_off(data_dir: Path) -> None:
    import subprocess

    from tests.support.serve import app_command, free_port

    port = free_port()
    proc = subprocess.Popen(app_command("serve", "--data-dir", str(data_dir), "--port", str(port),
                                        "--public-url", PUBLIC, "--auto-off", "midnight"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("MCP server ready at")
        assert proc.stdout.readline().strip() == f"Public URL ready at {PUBLIC}/mcp"
        answer = httpx.get(f"http://127.0.0.1:{port}{METADATA}", headers=via_proxy())
        assert answer.json()["issuer"] == PUBLIC
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    assert "turns off at" in err and " 00:00" in err


def test_serve_without_public_url_has_remote_access_off(data_dir: Path) -> None:
    with ServeProcess(data_dir) as serve:
        assert httpx.get(serve.base + METADATA, headers=via_proxy()).status_code == 421
