"""SIGTERM to `serve --workers N`: open streams end the clean way (no reset, no error logged), requests in
flight are answered, all within the supervisor's STOP_GRACE.

The workers drain as `serve` does (ServerRunner.stop: live.closing, SHUTDOWN_GRACE): without that, uvicorn
waits out its grace and cancels the streams, logging "Cancel N running task(s)" at ERROR.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from app.server.supervisor import STOP_GRACE
from tests.hosted.stack import Stack, owner_on, start_stack
from tests.remote.proxies import resolve_in_this_process
from tests.support.oauth import MCP_HEADERS, run_flow
from tests.support.postgres import Cluster

pytestmark = pytest.mark.e2e


def _read_to_end(lines: Iterator[str], seen: list[str]) -> None:
    """Read a stream until it ends; what happened: 'clean' or the exception's name."""
    try:
        for _ in lines:
            pass
    except Exception as exc:
        seen.append(type(exc).__name__)
        return
    seen.append("clean")


def test_sigterm_ends_every_stream_cleanly(postgres_cluster: Cluster, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    stack: Stack = start_stack(postgres_cluster, tmp_path, workers=2)
    try:
        owner_on(monkeypatch, stack)
        resolve_in_this_process(monkeypatch, stack.caddy)
        base = stack.public_url
        token = run_flow(base, "drain").access_token
        auth = {"Authorization": f"Bearer {token}"}
        http = httpx.Client(timeout=httpx.Timeout(15, read=30))
        opened: list[Iterator[str]] = []
        workers: set[str] = set()
        while len(opened) < 12 or len(workers) < 2:
            assert len(opened) < 40, f"40 streams, all on {workers}"
            sse = http.send(http.build_request("GET", f"{base}/sse",
                                               headers={**auth, "Accept": "text/event-stream"}), stream=True)
            assert sse.status_code == 200
            lines = sse.iter_lines()
            for line in lines:
                if line.startswith("data: "):
                    workers.add(line.split("/")[2])
                    break
            opened.append(lines)
        for _ in range(6):
            get = http.send(http.build_request("GET", f"{base}/mcp",
                                               headers={**MCP_HEADERS, **auth, "Accept": "text/event-stream"}),
                            stream=True)
            assert get.status_code == 200, get.read()
            opened.append(get.iter_lines())
        assert workers == {"w0", "w1"}
        seen: list[str] = []
        readers = [threading.Thread(target=_read_to_end, args=(r, seen)) for r in opened]
        for reader in readers:
            reader.start()
        code, took = stack.serve.stop(signal.SIGTERM)
        for reader in readers:
            reader.join(15)
        http.close()
        log = stack.serve.text()
        assert seen == ["clean"] * len(opened), seen
        assert code == 0, log[-2000:]
        assert took < STOP_GRACE, took
        assert '"level": "error"' not in log and "Traceback" not in log, log[-3000:]
        assert "did not stop" not in log  # no worker had to be killed
        for pid in stack.serve.workers:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
    finally:
        stack.serve.stop()
        stack.caddy.stop()


def test_sigterm_lets_a_request_in_flight_finish(postgres_cluster: Cluster, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    stack: Stack = start_stack(postgres_cluster, tmp_path, workers=2)
    try:
        owner_on(monkeypatch, stack)
        token = run_flow(stack.serve.base, "in flight").access_token
        body = json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                           "params": {"name": "add", "arguments": {"a": 2, "b": 3}}}).encode()
        arrived = threading.Event()

        def slow_body() -> Iterator[bytes]:
            yield body[:10]
            arrived.set()
            time.sleep(1.0)  # SIGTERM comes while the rest of the body is on its way
            yield body[10:]

        answers: list[httpx.Response] = []

        def call() -> None:
            with httpx.Client(timeout=15) as http:
                answers.append(http.post(f"{stack.serve.base}/mcp", content=slow_body(), headers={
                    **MCP_HEADERS, "Authorization": f"Bearer {token}", "MCP-Protocol-Version": "2025-06-18"}))

        caller = threading.Thread(target=call)
        caller.start()
        assert arrived.wait(10)
        time.sleep(0.2)
        code, took = stack.serve.stop(signal.SIGTERM)
        caller.join(15)
        assert [a.status_code for a in answers] == [200]
        assert '"text":"5' in answers[0].text.replace(" ", "")
        assert code == 0, stack.serve.text()[-2000:]
        assert took < STOP_GRACE, took
    finally:
        stack.serve.stop()
        stack.caddy.stop()
