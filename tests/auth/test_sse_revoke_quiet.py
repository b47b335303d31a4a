"""A revoke that closes an open SSE stream ends it as a finished response: no ERROR line in the log."""

from __future__ import annotations

import logging
import threading
import time

import httpx
import pytest

from app.server.runner import ServerRunner
from tests.support.signin import sign_in


def test_revoking_an_open_sse_stream_logs_no_error(
    server: ServerRunner, caplog: pytest.LogCaptureFixture
) -> None:
    issued = sign_in(server.base_url, "SSE client", data_dir=server.data_dir)
    opened, ended = threading.Event(), threading.Event()
    problems: list[str] = []

    def listen() -> None:
        try:
            with httpx.stream("GET", f"{server.base_url}/sse", timeout=20,
                              headers={"Authorization": f"Bearer {issued.access_token}"}) as response:
                assert response.status_code == 200
                opened.set()
                for _line in response.iter_lines():
                    pass
        except httpx.HTTPError as exc:  # e.g. "peer closed connection without sending complete message body"
            problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            opened.set()
            ended.set()

    caplog.set_level(logging.INFO)
    worker = threading.Thread(target=listen, daemon=True)
    worker.start()
    assert opened.wait(10)
    assert server.parts is not None
    server.parts.store.revoke_tokens([t.token_id for t in server.parts.store.list_tokens()])
    assert ended.wait(10), "the revoked stream stayed open"
    worker.join(5)
    assert problems == []
    # The watcher (SQLite) or the LISTEN connection (PostgreSQL) closed it, and says so just after.
    deadline = time.monotonic() + 5
    while not any("of revoked tokens" in r.getMessage() for r in caplog.records) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert any("of revoked tokens" in r.getMessage() for r in caplog.records)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
