"""The consent-signing key lives in the real OS keyring; with no keyring the server still runs, says so once."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import httpx
import keyring
import pytest
from keyring.backends import fail

from app.secrets.keyring_store import SERVICE, load_or_create
from tests.support.oauth import authorize_url, pkce_pair, register
from tests.support.serve import ServeProcess

NO_KEYRING = "no OS keyring is available"


def _real_keyring_or_skip() -> None:
    if os.environ.get("DBUS_SESSION_BUS_ADDRESS") and shutil.which("secret-tool"):
        return
    if os.environ.get("MCP_TRAY_REQUIRE_KEYRING") == "1":
        pytest.fail("the test command must provide a D-Bus session with gnome-keyring unlocked")
    pytest.skip("needs a D-Bus session with gnome-keyring (the README's test command provides one)")


def _consent_link(base: str) -> str:
    """A consent page URL, as /authorize redirects to it."""
    client_id = register(base, "Keyring test")
    response = httpx.get(authorize_url(base, client_id, pkce_pair()[1]), timeout=10)
    assert response.status_code == 302
    return str(response.headers["location"])


@pytest.mark.keyring
def test_signing_key_in_real_keyring_survives_restart(data_dir: Path) -> None:
    _real_keyring_or_skip()
    with ServeProcess(data_dir) as serve:
        link = _consent_link(serve.base)
        port = serve.port
        code, err = serve.stop()
    assert code == 0 and NO_KEYRING not in err, err
    found = subprocess.run(["secret-tool", "search", "--all", "service", SERVICE], capture_output=True, text=True,
                           timeout=30)
    assert "consent-signing-key@" in found.stdout + found.stderr
    # The consent link was signed with the stored key, so it still opens after a restart.
    with ServeProcess(data_dir, port=port) as serve:
        assert httpx.get(link, timeout=10).status_code == 200
    key_hex = keyring.get_password(SERVICE, next(
        line.split("=", 1)[1].strip() for line in (found.stdout + found.stderr).splitlines()
        if line.startswith("attribute.username") and "consent-signing-key@" in line))
    assert key_hex
    for path in data_dir.rglob("*"):
        if path.is_file():
            assert key_hex.encode() not in path.read_bytes(), f"the key leaked into {path}"


def test_no_keyring_backend_warns_once_and_still_serves(data_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.fail.Keyring"
    with ServeProcess(data_dir, env=env) as serve:
        link = _consent_link(serve.base)
        assert httpx.get(link, timeout=10).status_code == 200
        port = serve.port
        code, err = serve.stop()
    assert code == 0
    assert err.count(NO_KEYRING) == 1, err
    assert "Traceback" not in err
    # The key was ephemeral: after a restart the old link is refused clearly (400), not a 500.
    with ServeProcess(data_dir, port=port, env=env) as serve:
        refused = httpx.get(link, timeout=10)
        assert refused.status_code == 400 and "cannot be used" in refused.text


def test_load_or_create_without_backend_is_ephemeral(data_dir: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        first = load_or_create("probe", data_dir)
        second = load_or_create("probe", data_dir)
    finally:
        keyring.set_keyring(previous)
    assert not first.persistent and first.problem
    assert first.value != second.value  # nothing was written anywhere in between
    assert list(data_dir.iterdir()) == []
