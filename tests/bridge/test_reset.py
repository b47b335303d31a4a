"""Reset client sign-in: the bridge's keyring entries and mcp-remote's files for our server, and nothing else."""

from __future__ import annotations

import hashlib
import subprocess
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client

from app.bridge.cached_sign_in import SERVICE, canonical_url
from app.bridge.reset import mcp_remote_files, reset_client_sign_in
from app.server.runner import ServerRunner
from bench.support.mcp_session import text_of
from tests.support.bridge import real_keyring_or_skip
from tests.support.clients import mcp_remote_command, mcp_remote_env
from tests.support.serve import REPO, app_command


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


@pytest.fixture
def no_keyring() -> Iterator[None]:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    yield
    keyring.set_keyring(previous)


def test_deletes_only_our_servers_mcp_remote_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                   no_keyring: None) -> None:
    monkeypatch.setenv("MCP_REMOTE_CONFIG_DIR", str(tmp_path))
    ours = ["http://localhost:8787/sse", "http://127.0.0.1:8787/mcp", "http://localhost:8787/mcp/"]
    theirs = ["http://localhost:9999/sse", "https://example.com/mcp"]
    for folder in ("mcp-remote-v1", "mcp-remote-0.1.29"):
        (tmp_path / folder).mkdir()
        for url in ours + theirs:
            for name in ("client_info.json", "tokens.json", "code_verifier.txt"):
                (tmp_path / folder / f"{_md5(url)}_{name}").write_text("{}")
    (tmp_path / "mcp-remote-v1" / "notes.txt").write_text("keep")

    assert reset_client_sign_in("http://127.0.0.1:8787/mcp", include_mcp_remote=False).mcp_remote_files == []
    assert len(mcp_remote_files("http://127.0.0.1:8787/mcp")) == 2 * 3 * 3

    result = reset_client_sign_in("http://127.0.0.1:8787/mcp", include_mcp_remote=True)
    assert len(result.mcp_remote_files) == 2 * 3 * 3
    left = sorted(p.name for p in tmp_path.rglob("*") if p.is_file())
    expected = sorted([f"{_md5(u)}_{n}" for u in theirs for n in ("client_info.json", "tokens.json",
                                                                  "code_verifier.txt")] * 2 + ["notes.txt"])
    assert left == expected
    assert any("no OS keyring" in p for p in result.problems)


@pytest.mark.e2e
@pytest.mark.anyio
async def test_real_mcp_remote_signs_in_again_after_reset(server: ServerRunner, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    command = mcp_remote_command()
    if command is None:
        pytest.fail("mcp-remote is not installed; run `npm ci` (the test command does)")
    url = f"http://localhost:{server.port}/sse"
    log = tmp_path / "browser.log"
    env = mcp_remote_env(tmp_path, log)

    async def add() -> str:
        with open(tmp_path / "mcp-remote.stderr", "a") as errlog:
            async with stdio_client(StdioServerParameters(command=command, args=[url], env=env), errlog=errlog) \
                    as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                return text_of(await session.call_tool("add", {"a": 2, "b": 3}))

    assert await add() == "5"
    monkeypatch.setenv("MCP_REMOTE_CONFIG_DIR", env["MCP_REMOTE_CONFIG_DIR"])
    cached = mcp_remote_files(f"http://127.0.0.1:{server.port}/mcp")
    assert {p.name.split("_", 1)[1] for p in cached} >= {"client_info.json", "tokens.json"}
    result = reset_client_sign_in(f"http://127.0.0.1:{server.port}/mcp", include_mcp_remote=True)
    assert sorted(result.mcp_remote_files) == sorted(cached)
    assert await add() == "5"
    assert len(log.read_text().splitlines()) == 2, "after the reset mcp-remote had to sign in again"


@pytest.mark.keyring
def test_cli_clears_the_bridge_keyring_entry_for_every_spelling(tmp_path: Path, data_dir: Path) -> None:
    real_keyring_or_skip()
    stored = "http://localhost:18787/sse"
    keyring.set_password(SERVICE, canonical_url(stored), '{"client_info": null, "tokens": null}')
    unrelated = "http://127.0.0.1:18788/mcp"
    keyring.set_password(SERVICE, canonical_url(unrelated), "{}")
    try:
        done = subprocess.run(app_command("reset-sign-in", "http://127.0.0.1:18787/mcp", "--data-dir",
                                          str(data_dir)), cwd=REPO, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert "Removed 1 bridge sign-in" in done.stdout and stored in done.stdout
        assert keyring.get_password(SERVICE, canonical_url(stored)) is None
        assert keyring.get_password(SERVICE, canonical_url(unrelated)) == "{}"
    finally:
        for url in (stored, unrelated):
            if keyring.get_password(SERVICE, canonical_url(url)) is not None:
                keyring.delete_password(SERVICE, canonical_url(url))


def test_bridge_reset_flag_needs_a_valid_url(data_dir: Path) -> None:
    done = subprocess.run(app_command("bridge", "--reset", "not-a-url", "--data-dir", str(data_dir)), cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "not an http(s) URL" in done.stderr
