"""The ingress adapters: ngrok with the real SDK (which cannot reach ngrok from here), and cloudflared
and tailscale through stand-ins on PATH that print what the real programs print."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.config import Settings
from app.remote.access import RemoteState
from app.remote.adapters import build_ingress
from app.remote.cloudflared import QUICK_WARNING, CloudflaredNamed, CloudflaredQuick
from app.remote.ingress import IngressError
from app.remote.ngrok_ingress import AUTH_TOKEN_SECRET, NgrokIngress
from app.remote.tailscale import TailscaleFunnel
from app.secrets.keyring_store import write_text
from app.server.runner import ServerRunner
from tests.conftest import start_runner
from tests.remote import fake_programs as fake
from tests.remote.headers import via_proxy
from tests.support.serve import REPO, app_command, free_port

LOCAL = "http://127.0.0.1:8787"
METADATA = "/.well-known/oauth-authorization-server"


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory first on PATH, for the stand-in programs; nothing else of ours is on it."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return path


@pytest.fixture
def running(data_dir: Path) -> Iterator[ServerRunner]:
    runner = start_runner(data_dir)
    yield runner
    runner.close()


# -- ngrok: the real agent SDK -----------------------------------------------------------------


def test_ngrok_without_an_auth_token_says_where_to_get_one(data_dir: Path) -> None:
    ingress = build_ingress(Settings(ingress="ngrok"), data_dir)
    assert isinstance(ingress, NgrokIngress)
    with pytest.raises(IngressError) as caught:
        ingress.start(LOCAL)
    assert caught.value.kind == "no_auth_token"
    assert "auth token" in str(caught.value) and "OS keyring" in str(caught.value)


def test_ngrok_with_a_token_but_no_network_says_offline(data_dir: Path, running: ServerRunner) -> None:
    write_text(AUTH_TOKEN_SECRET, data_dir, "2abcFAKEtokenFAKEtoken_0123456789abcdef")  # the real keyring
    ingress = build_ingress(Settings(ingress="ngrok", ngrok_domain="desk.ngrok.app"), data_dir)
    started = time.monotonic()
    with pytest.raises(IngressError) as caught:
        running.remote.start(ingress, running.base_url, "8h")
    assert caught.value.kind == "offline", str(caught.value)
    assert "ngrok could not reach its service" in str(caught.value) and "online" in str(caught.value)
    assert time.monotonic() - started < 60
    status = running.remote.status()
    assert status.state is RemoteState.ERROR and "ngrok" in (status.error or "")
    assert httpx.get(running.base_url + METADATA, headers=via_proxy("desk.ngrok.app")).status_code == 421
    write_text(AUTH_TOKEN_SECRET, data_dir, "")


def test_ngrok_without_a_reserved_domain_warns_that_the_url_changes(data_dir: Path) -> None:
    assert "new URL each run" in NgrokIngress(data_dir).warning
    assert NgrokIngress(data_dir, "desk.ngrok.app").warning == ""


# -- cloudflared --------------------------------------------------------------------------------


def test_quick_tunnel_command_line_url_and_stop(bin_dir: Path) -> None:
    record = fake.install(bin_dir, "cloudflared", fake.QUICK_TUNNEL)
    ingress = CloudflaredQuick()
    origin = ingress.start(LOCAL)
    assert origin.origin == "https://violet-kite-mango-harbor.trycloudflare.com"
    assert ingress.warning == QUICK_WARNING and "sign in again" in QUICK_WARNING
    ingress.stop()
    got = fake.records(record)
    assert got[0]["argv"] == [str(bin_dir / "cloudflared"), "tunnel", "--no-autoupdate", "--url", LOCAL]
    assert got[1] == {"signal": "SIGTERM"}


def test_quick_tunnel_offline(bin_dir: Path) -> None:
    fake.install(bin_dir, "cloudflared", fake.QUICK_OFFLINE, exit_code=1)
    with pytest.raises(IngressError) as caught:
        CloudflaredQuick().start(LOCAL)
    assert caught.value.kind == "offline" and "no such host" in str(caught.value)


def test_named_tunnel_command_line(bin_dir: Path, data_dir: Path) -> None:
    record = fake.install(bin_dir, "cloudflared", fake.NAMED_TUNNEL)
    ingress = build_ingress(Settings(ingress="cloudflared", cloudflared_tunnel="desk",
                                     public_url="https://mcp.example.com"), data_dir)
    assert isinstance(ingress, CloudflaredNamed)
    assert ingress.start(LOCAL).origin == "https://mcp.example.com"
    ingress.stop()
    assert fake.records(record)[0]["argv"] == [str(bin_dir / "cloudflared"), "tunnel", "--no-autoupdate", "run",
                                              "--url", LOCAL, "desk"]


def test_named_tunnel_needs_its_name(data_dir: Path) -> None:
    with pytest.raises(IngressError, match="needs its name") as caught:
        build_ingress(Settings(ingress="cloudflared", public_url="https://mcp.example.com"), data_dir)
    assert caught.value.kind == "not_configured"


@pytest.mark.parametrize("ingress", [CloudflaredQuick(), TailscaleFunnel()])
def test_missing_program_says_how_to_install_it(bin_dir: Path, ingress: CloudflaredQuick | TailscaleFunnel) -> None:
    with pytest.raises(IngressError) as caught:
        ingress.start(LOCAL)
    assert caught.value.kind == "missing_program"
    assert f"The {ingress.program} program was not found on PATH" in str(caught.value)
    assert "Install" in str(caught.value)


# -- tailscale ----------------------------------------------------------------------------------


def test_funnel_command_line_url_and_ctrl_c(bin_dir: Path) -> None:
    record = fake.install(bin_dir, "tailscale", fake.FUNNEL)
    ingress = TailscaleFunnel()
    assert ingress.start(LOCAL).origin == "https://desk.tail1234.ts.net"
    ingress.stop()
    got = fake.records(record)
    assert got[0]["argv"] == [str(bin_dir / "tailscale"), "funnel", "--https=443", LOCAL]
    assert got[1] == {"signal": "SIGINT"}  # Ctrl+C: tailscale turns its Funnel off itself


def test_funnel_without_tailscaled(bin_dir: Path) -> None:
    fake.install(bin_dir, "tailscale", fake.TAILSCALED_DOWN, exit_code=1)
    with pytest.raises(IngressError) as caught:
        TailscaleFunnel().start(LOCAL)
    assert caught.value.kind == "offline" and "tailscaled" in str(caught.value)


# -- with the server ------------------------------------------------------------------------------


def test_a_tunnel_that_dies_closes_the_public_url(bin_dir: Path, running: ServerRunner, data_dir: Path) -> None:
    record = fake.install(bin_dir, "cloudflared", fake.QUICK_TUNNEL)
    status = running.remote.start(build_ingress(Settings(ingress="cloudflared-quick"), data_dir),
                                  running.base_url, "never")
    host = "violet-kite-mango-harbor.trycloudflare.com"
    assert status.public_url == f"https://{host}/mcp" and status.warning == QUICK_WARNING
    assert httpx.get(running.base_url + METADATA, headers=via_proxy(host)).json()["issuer"] == f"https://{host}"
    fake_pid = _pid_of(bin_dir / "cloudflared")
    os.kill(fake_pid, signal.SIGUSR1)  # it dies on its own
    deadline = time.monotonic() + 10
    while running.remote.status().state is not RemoteState.ERROR and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "exited with code 1" in (running.remote.status().error or "")
    assert httpx.get(running.base_url + METADATA, headers=via_proxy(host)).status_code == 421
    assert len(fake.records(record)) == 1  # it was not signalled by us


def _pid_of(program: Path) -> int:
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if len(cmdline) > 1 and cmdline[1] == str(program).encode():
                return int(entry.name)
    raise AssertionError(f"{program} is not running")


def test_serve_with_a_quick_tunnel(bin_dir: Path, data_dir: Path) -> None:
    import subprocess

    fake.install(bin_dir, "cloudflared", fake.QUICK_TUNNEL)
    port = free_port()
    proc = subprocess.Popen(app_command("serve", "--data-dir", str(data_dir), "--port", str(port),
                                        "--ingress", "cloudflared-quick", "--auto-off", "never"),
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().startswith("MCP server ready at")
        line = proc.stdout.readline().strip()
        assert line == "Public URL ready at https://violet-kite-mango-harbor.trycloudflare.com/mcp"
    finally:
        proc.terminate()
        try:
            _, err = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()  # never leave it running for the next test
            proc.communicate()
            raise
    assert "new URL each time" in err and "never turns off by itself" in err


def test_serve_with_ngrok_and_no_token_fails_clearly(data_dir: Path) -> None:
    import subprocess

    done = subprocess.run(app_command("serve", "--data-dir", str(data_dir), "--port", str(free_port()),
                                      "--ingress", "ngrok"), cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "ngrok needs an auth token" in done.stderr and "Traceback" not in done.stderr
