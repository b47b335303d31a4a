"""app/bridge/cached_sign_in.py and fast.py: when the quick start reads the keyring itself (Linux, keyring's
default choice) and how it claims the MCP channel on stdio (POSIX: private descriptors; Windows: the streams
as they are)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest

from app.bridge import cached_sign_in, fast
from tests.support.bridge import real_keyring_or_skip
from tests.support.serve import REPO

URL = "http://127.0.0.1:9/mcp"
linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the quick read is Secret Service's")


@pytest.fixture
def stored(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A record for URL in the real keyring (gnome-keyring), under keyring's default choice."""
    real_keyring_or_skip()
    monkeypatch.delenv("PYTHON_KEYRING_BACKEND", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))  # no keyringrc.cfg there
    record = '{"tokens": {"access_token": "quick"}, "expires_at": 1}'
    keyring.set_password(cached_sign_in.SERVICE, cached_sign_in.canonical_url(URL), record)
    try:
        yield record
    finally:
        keyring.delete_password(cached_sign_in.SERVICE, cached_sign_in.canonical_url(URL))


@linux
@pytest.mark.keyring
def test_the_quick_read_finds_what_keyring_stored(stored: str) -> None:
    assert cached_sign_in.read_cached_record(URL) == stored
    assert cached_sign_in.read_cached_record("HTTP://127.0.0.1:9/mcp/") == stored  # the same canonical account
    assert cached_sign_in.read_cached_record("http://127.0.0.1:10/mcp") is None


@linux
@pytest.mark.keyring
def test_a_chosen_backend_is_left_to_keyring(stored: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.SecretService.Keyring")
    assert cached_sign_in.read_cached_record(URL) is None  # the full bridge reads it through keyring


@linux
@pytest.mark.keyring
def test_a_keyringrc_is_left_to_keyring(stored: str, tmp_path: Path) -> None:
    config = tmp_path / "config" / "python_keyring"
    config.mkdir(parents=True)
    (config / "keyringrc.cfg").write_text("[backend]\ndefault-keyring=keyring.backends.SecretService.Keyring\n")
    assert cached_sign_in.read_cached_record(URL) is None


@linux
@pytest.mark.keyring
def test_no_session_bus_is_none_not_an_error(stored: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with monkeypatch.context() as patch:  # undone before the fixture deletes the record over the real bus
        patch.setenv("DBUS_SESSION_BUS_ADDRESS", f"unix:path={tmp_path / 'no-bus'}")
        assert cached_sign_in.read_cached_record(URL) is None
    assert cached_sign_in.read_cached_record(URL) == stored


@pytest.mark.parametrize("platform", ["darwin", "win32"])
def test_other_systems_leave_the_keyring_to_keyring(monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    monkeypatch.setattr(sys, "platform", platform)  # their keychains are keyring's to open; none runs here
    assert cached_sign_in.read_cached_record(URL) is None


_CLAIM = """
import sys
from app.bridge.fast import claim_stdio
wire_in, wire_out = claim_stdio()
print("stray print")  # fd 1 now: stderr
sys.stdout.flush()
wire_out.write(b"wire:" + wire_in.read() + b"\\n")
wire_out.flush()
print("stdin now:", repr(sys.stdin.read()), file=sys.stderr)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="the POSIX branch moves descriptors")
def test_the_channel_is_private_and_stray_output_goes_to_stderr() -> None:
    done = subprocess.run([sys.executable, "-c", _CLAIM], cwd=REPO, input=b"hello", capture_output=True,
                          timeout=60, check=True)
    assert done.stdout == b"wire:hello\n"  # only the bridge's own writes reach the client
    assert b"stray print" in done.stderr
    assert b"stdin now: ''" in done.stderr  # fd 0 reads /dev/null: a child cannot eat the client's lines


def test_windows_keeps_the_streams_as_they_are(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"in"))
    stdout = io.TextIOWrapper(io.BytesIO())
    monkeypatch.setattr(sys, "platform", "win32")
    monkeypatch.setattr(sys, "stdin", stdin)
    monkeypatch.setattr(sys, "stdout", stdout)
    fds = sorted(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else []
    wire_in, wire_out = fast.claim_stdio()
    assert wire_in is stdin.buffer and wire_out is stdout.buffer
    assert (sorted(os.listdir("/proc/self/fd")) if fds else []) == fds  # no descriptor was duplicated
