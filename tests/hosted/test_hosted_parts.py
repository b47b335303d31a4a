"""The hosted server's parts one at a time: signing key, serve's refusals, JSON logs, /ready, shared limits."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import psycopg
import pytest

from app.logging_setup import configure, request_fields
from app.secrets.signing_key import SIGNING_KEY_ENV, SigningKeyError, hosted_signing_key
from app.server.ratelimit import Limit
from app.server.runner import ServerRunner
from app.server.shared_limits import SharedRateLimiter
from app.store.db import URL_ENV
from app.store.store import Store
from tests.conftest import start_runner
from tests.support.serve import REPO, app_command, free_port

KEY = "ab" * 32


def test_signing_key_file_must_be_the_owners_only(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    path.write_text(KEY + "\n")
    path.chmod(0o644)
    with pytest.raises(SigningKeyError, match=r"readable by others .*chmod 600"):
        hosted_signing_key(path, {})
    path.chmod(0o600)
    secret = hosted_signing_key(path, {SIGNING_KEY_ENV: "cd" * 32})  # the file wins over the environment
    assert secret is not None and secret.value == bytes.fromhex(KEY)


@pytest.mark.parametrize(("text", "problem"), [("not hex at all", "not hex"), ("abcd", "at least 32")])
def test_signing_key_that_is_not_a_key_is_refused(text: str, problem: str) -> None:
    with pytest.raises(SigningKeyError, match=problem):
        hosted_signing_key(None, {SIGNING_KEY_ENV: text})


def test_signing_key_from_the_environment_or_none() -> None:
    secret = hosted_signing_key(None, {SIGNING_KEY_ENV: KEY})
    assert secret is not None and secret.persistent and secret.value == bytes.fromhex(KEY)
    assert hosted_signing_key(None, {}) is None


def _serve(tmp_path: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    data = tmp_path / "data"
    data.mkdir(mode=0o700, exist_ok=True)
    return subprocess.run(app_command("serve", "--port", str(free_port()), "--data-dir", str(data), *args),
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_several_workers_on_sqlite_are_refused(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != URL_ENV} | {SIGNING_KEY_ENV: KEY}
    done = _serve(tmp_path, env, "--workers", "2")
    assert done.returncode == 2 and "needs a PostgreSQL store" in done.stderr and "Traceback" not in done.stderr


def test_several_workers_without_a_shared_key_are_refused(tmp_path: Path, postgres_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k != SIGNING_KEY_ENV}
    done = _serve(tmp_path, env, "--workers", "2", "--database", postgres_url)
    assert done.returncode == 2 and SIGNING_KEY_ENV in done.stderr and "Traceback" not in done.stderr


def test_serve_refuses_a_key_file_others_can_read(tmp_path: Path) -> None:
    path = tmp_path / "signing.key"
    path.write_text(KEY)
    path.chmod(0o640)
    done = _serve(tmp_path, dict(os.environ), "--signing-key-file", str(path))
    assert done.returncode == 2 and "readable by others" in done.stderr


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_workers_out_of_range_is_a_usage_error(tmp_path: Path, value: str) -> None:
    done = _serve(tmp_path, dict(os.environ), "--workers", value)
    assert done.returncode == 2 and "--workers" in done.stderr and "Traceback" not in done.stderr


@pytest.fixture
def json_console(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    out = io.StringIO()
    monkeypatch.setattr("sys.stderr", out)
    configure(tmp_path, console_level=logging.INFO, log_format="json")
    yield out
    configure(tmp_path, console_level=None)


def test_json_logs_are_one_object_a_line_with_request_fields(json_console: io.StringIO) -> None:
    logging.getLogger("mcp_tray.test").info("outside any request")
    token = request_fields.set({"id": "r1", "method": "POST", "path": "/token", "peer": "10.0.0.7"})
    try:
        logging.getLogger("mcp_tray.test").warning("inside %s", "one", extra={"fields": {"status": 429}})
    finally:
        request_fields.reset(token)
    first, second = (json.loads(line) for line in json_console.getvalue().splitlines())
    assert {"time", "level", "logger", "message", "pid"} <= set(first) and "request" not in first
    assert first["level"] == "info" and first["logger"] == "mcp_tray.test" and first["time"].endswith("Z")
    assert second["message"] == "inside one" and second["level"] == "warning" and second["status"] == 429
    assert second["request"] == {"id": "r1", "method": "POST", "path": "/token", "peer": "10.0.0.7"}


def test_every_line_of_a_request_carries_its_fields_and_one_id(json_console: io.StringIO) -> None:
    from starlette.types import Message, Receive, Scope, Send

    from app.server.request_log import RequestLog

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        logging.getLogger("mcp_tray.test").info("first")
        logging.getLogger("mcp_tray.test").info("second")

    def run(headers: list[tuple[bytes, bytes]]) -> list[dict[str, object]]:
        async def nothing() -> Message:
            return {"type": "http.disconnect"}

        async def dropped(message: Message) -> None:
            return None

        scope: Scope = {"type": "http", "method": "POST", "path": "/mcp", "query_string": b"code=secret",
                 "headers": headers, "client": ("10.0.0.9", 5000)}
        anyio.run(RequestLog(app), scope, nothing, dropped)
        lines = [json.loads(line)["request"] for line in json_console.getvalue().splitlines()]
        json_console.truncate(0)
        json_console.seek(0)
        return lines

    first, second = run([])
    assert first == second and first["method"] == "POST" and first["path"] == "/mcp"
    assert first["peer"] == "10.0.0.9" and isinstance(first["id"], str) and len(first["id"]) == 16
    given = run([(b"x-request-id", b"abc-123")])
    assert [line["id"] for line in given] == ["abc-123", "abc-123"]
    assert run([(b"x-request-id", b"no spaces allowed")])[0]["id"] != "no spaces allowed"


@pytest.fixture
def pg_runner(tmp_path: Path, postgres_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerRunner]:
    monkeypatch.setenv(URL_ENV, postgres_url)
    data = tmp_path / "data"
    data.mkdir()
    runner = start_runner(data)
    yield runner
    runner.close()


def test_ready_says_503_while_the_schema_is_not_this_versions(pg_runner: ServerRunner, postgres_url: str) -> None:
    assert httpx.get(f"{pg_runner.base_url}/ready").json()["status"] == "ready"
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE mcp_tray_schema SET version = version + 100")
        try:
            ready = httpx.get(f"{pg_runner.base_url}/ready")
            health = httpx.get(f"{pg_runner.base_url}/health")
        finally:
            conn.execute("UPDATE mcp_tray_schema SET version = version - 100")
    assert ready.status_code == 503 and ready.json()["status"] == "unavailable"
    assert "schema is version" in ready.json()["reason"] and postgres_url.split("@")[0] not in ready.text
    assert health.status_code == 200 and health.json()["status"] == "ok"  # alive, just not ready
    assert httpx.get(f"{pg_runner.base_url}/ready").status_code == 200


def test_ready_says_503_when_the_store_fails(pg_runner: ServerRunner, postgres_url: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("ALTER TABLE mcp_tray_schema RENAME TO mcp_tray_schema_gone")
        try:
            ready = httpx.get(f"{pg_runner.base_url}/ready", timeout=40)
        finally:
            conn.execute("ALTER TABLE mcp_tray_schema_gone RENAME TO mcp_tray_schema")
    assert ready.status_code == 503 and ready.json()["reason"] == "the store does not answer"


def test_shared_buckets_spend_each_token_once_across_processes(postgres_url: str, tmp_path: Path) -> None:
    # Two stores stand for two workers: 40 takes at once from a bucket of 10 that hardly refills.
    stores = [Store(tmp_path, postgres_url), Store(tmp_path, postgres_url)]
    try:
        limiters = [SharedRateLimiter(s.db) for s in stores]
        limit = Limit(10, 0.001)
        results: list[float] = []
        lock = threading.Lock()

        def take(n: int) -> None:
            wait = limiters[n % 2].take("register", "everyone", limit)
            with lock:
                results.append(wait)

        threads = [threading.Thread(target=take, args=(n,)) for n in range(40)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results.count(0.0) == 10
        assert all(w > 100 for w in results if w)  # the wait says when a token is back: ~1000 s at this rate
        assert limiters[0].take("register", "someone else", limit) == 0.0  # keys are separate
        assert limiters[1].take("remote-log", "c", Limit(1, 0.001)) == 0.0  # log throttles stay per process
        assert limiters[1].take("remote-log", "c", Limit(1, 0.001)) > 0
        assert limiters[0].take("remote-log", "c", Limit(1, 0.001)) == 0.0
    finally:
        for s in stores:
            s.close()


def test_held_calls_per_grant_are_capped_across_processes(postgres_url: str, tmp_path: Path) -> None:
    # Two stores stand for two workers: 10 calls of one grant held at once, the cap is 2.
    stores = [Store(tmp_path, postgres_url), Store(tmp_path, postgres_url)]
    try:
        held: list[object] = []
        lock = threading.Lock()

        def hold(n: int) -> None:
            call = stores[n % 2].held.hold_capped("c1", "app", "g1", "write_file", "{}", 2, time.time() - 60)
            with lock:
                held.append(call)

        threads = [threading.Thread(target=hold, args=(n,)) for n in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len([c for c in held if c is not None]) == 2
        assert stores[0].held.hold_capped("c1", "app", "g2", "write_file", "{}", 2, time.time() - 60) is not None
        # A call left by a worker that died long ago (older than the ask timeout) no longer counts.
        assert stores[1].held.hold_capped("c1", "app", "g1", "write_file", "{}", 2, time.time() + 1) is not None
    finally:
        for s in stores:
            s.close()


def test_request_ids_are_unique_within_a_process_and_across_forked_workers() -> None:
    from app.server.request_log import _REQUEST_ID, fresh_request_id

    ours = [fresh_request_id() for _ in range(1000)]
    assert len(set(ours)) == 1000 and all(_REQUEST_ID.fullmatch(i) for i in ours)
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # a forked worker, as `serve --workers N` makes them
        os.write(write, " ".join(fresh_request_id() for _ in range(100)).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        theirs = pipe.read().split()
    os.waitpid(child, 0)
    assert len(theirs) == 100 and not set(theirs) & set(ours) and theirs[0][:8] != ours[0][:8]
