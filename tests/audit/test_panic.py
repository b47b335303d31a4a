"""Panic under load: 8 clients call tools with streams open; `mcp-tray panic` from another process
revokes everything, every client's next request gets 401, every stream is closed by the server's
revocation watcher, and the server stops. Plus the tray's "Revoke everything and stop"."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import httpx
import pytest
from pytestqt.qtbot import QtBot

from app.commands.panic_cli import answers_health
from app.server import pidfile
from app.server.runner import ServerState
from tests.commands.test_store_cli import cli
from tests.conftest import parts_of
from tests.support.oauth import INITIALIZE, MCP_HEADERS, Tokens, obtain_tokens
from tests.support.serve import ServeProcess

CALL = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "add", "arguments": {"a": 1, "b": 2}}}


class Stream:
    """A GET event stream read on a thread until the server ends it."""

    def __init__(self, base: str, path: str, headers: dict[str, str]) -> None:
        self.opened, self.closed = threading.Event(), threading.Event()
        self.status = 0
        threading.Thread(target=self._run, args=(base, path, headers), daemon=True).start()
        assert self.opened.wait(10), f"{path} did not open"

    def _run(self, base: str, path: str, headers: dict[str, str]) -> None:
        try:
            with httpx.Client(base_url=base, timeout=httpx.Timeout(10, read=120)) as http, \
                    http.stream("GET", path, headers=headers) as stream:
                self.status = stream.status_code
                self.opened.set()
                for _ in stream.iter_raw():
                    pass
        except httpx.HTTPError:
            pass  # a cut connection is a close too
        finally:
            self.opened.set()
            self.closed.set()


class Caller(threading.Thread):
    """One client: a streamable-HTTP session with its GET stream, an SSE stream, and tools/call in a loop."""

    def __init__(self, base: str, tokens: Tokens) -> None:
        super().__init__(daemon=True)
        self.base = base
        self.auth = {"Authorization": f"Bearer {tokens.access_token}"}
        self.http = httpx.Client(base_url=base, timeout=30)
        init = self.http.post("/mcp", json=INITIALIZE, headers={**MCP_HEADERS, **self.auth})
        assert init.status_code == 200
        self.headers = {**MCP_HEADERS, **self.auth, "Mcp-Session-Id": init.headers["mcp-session-id"],
                        "MCP-Protocol-Version": "2025-06-18"}
        self.http.post("/mcp", json={"jsonrpc": "2.0", "method": "notifications/initialized"},
                       headers=self.headers)
        self.streams = [Stream(base, "/mcp", self.headers),
                        Stream(base, "/sse", {**self.auth, "Accept": "text/event-stream"})]
        assert all(s.status == 200 for s in self.streams)
        self.ok = 0
        self.first_refusal: int | str | None = None
        self.start()

    def run(self) -> None:
        while self.first_refusal is None:
            try:
                response = self.http.post("/mcp", json=CALL, headers=self.headers)
            except httpx.ConnectError as exc:
                self.first_refusal = f"no server: {exc}"
                break
            except httpx.HTTPError:
                continue  # a call in flight when the streams were cut; the next request tells
            if response.status_code == 200 and '"text":"3"' in response.text.replace(" ", ""):
                self.ok += 1
            else:
                self.first_refusal = response.status_code
        self.http.close()


@pytest.mark.e2e
def test_panic_under_load_revokes_cuts_streams_and_stops(data_dir: Path) -> None:
    with ServeProcess(data_dir) as serve:
        record = pidfile.read(data_dir)
        assert record is not None and record.pid == serve.proc.pid and pidfile.is_ours(record, answers_health)
        callers = [Caller(serve.base, obtain_tokens(serve.base, name=f"client {i}")) for i in range(8)]
        deadline = time.monotonic() + 30
        while min(c.ok for c in callers) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert min(c.ok for c in callers) >= 3, "the clients never got going"
        panic = cli(data_dir, "panic")
        assert panic.returncode == 0, panic.stderr
        assert "Revoked 8 sign-ins" in panic.stdout and "Stopped the server" in panic.stdout
        for caller in callers:
            caller.join(10)
            assert caller.first_refusal == 401
            for stream in caller.streams:
                assert stream.closed.wait(10)
        code, err = serve.stop(timeout=10)  # it has stopped itself: this only waits and reads its stderr
        assert code == 0
    cut = sum(int(line.split("closing ", 1)[1].split()[0]) for line in err.splitlines()
              if "of revoked tokens" in line)
    assert cut >= 16  # at least both streams of all 8 clients were closed by the watcher, not by the stop
    assert not (data_dir / pidfile.FILE_NAME).exists()


def test_panic_with_no_server_still_revokes(data_dir: Path) -> None:
    (data_dir / pidfile.FILE_NAME).write_text('{"pid": 1, "port": 9, "started_at": 0}')  # stale: not ours
    done = cli(data_dir, "panic")
    assert done.returncode == 0 and "nothing to stop" in done.stdout


@pytest.mark.gui
def test_tray_revoke_everything_and_stop(qtbot: QtBot, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from app.config import Settings
    from app.secrets.keyring_store import Secret
    from app.server.runner import ServerRunner
    from app.ui import dialogs
    from app.ui.tray_app import TrayApp

    runner = ServerRunner(data_dir, "127.0.0.1", 0, Settings(), secret=Secret(b"k" * 32, persistent=False))
    app = TrayApp(data_dir, runner, use_tray=False)
    qtbot.addWidget(app.dashboard)
    app.dashboard.quit_requested.disconnect(app.quit)  # closing the window must not end pytest-qt's loop
    try:
        runner.start()
        assert runner.wait_ready(15)
        callers = [Caller(runner.base_url, obtain_tokens(runner.base_url, name=f"tray client {i}"))
                   for i in range(3)]
        qtbot.waitUntil(lambda: min(c.ok for c in callers) >= 2, timeout=20000)
        asked: list[str] = []
        def ask(parent: object, title: str, text: str) -> bool:
            asked.append(title)
            return False

        monkeypatch.setattr(dialogs, "ask", ask)
        app.panic()  # the owner says no: nothing happens
        assert asked == ["Revoke everything and stop?"] and runner.state is ServerState.RUNNING
        monkeypatch.setattr(dialogs, "ask", lambda parent, title, text: True)
        app.panic()
        for caller in callers:
            caller.join(10)
            assert caller.first_refusal == 401
            assert all(s.closed.wait(10) for s in caller.streams)
        qtbot.waitUntil(lambda: runner.state is ServerState.STOPPED, timeout=15000)
        assert runner.parts is not None
        assert all(t.revoked_at is not None for t in parts_of(runner).store.list_tokens(include_inactive=True))
    finally:
        app.shutdown()
