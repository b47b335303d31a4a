"""The supervisor under stress: a worker SIGKILLed under 8 clients' load, and SIGTERM with streams open."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from app.store.store import Store
from tests.hosted.stack import call_add, owner_on, start_stack
from tests.remote.proxies import resolve_in_this_process
from tests.support.oauth import run_flow
from tests.support.postgres import Cluster

pytestmark = pytest.mark.e2e

CLIENTS = 8


@dataclass
class Load:
    """What the clients saw: registrations acknowledged (201), calls answered, failures, with times."""

    registered: list[tuple[float, str]] = field(default_factory=list)
    calls: list[float] = field(default_factory=list)
    failures: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _client(base: str, access_token: str, load: Load, stop: threading.Event, n: int) -> None:
    body = {"client_name": f"load {n}", "redirect_uris": ["http://127.0.0.1:33418/callback"],
            "token_endpoint_auth_method": "none"}
    with httpx.Client(timeout=15) as http:
        while not stop.is_set():
            try:
                made = http.post(f"{base}/register", json=body)
                added = call_add(base, access_token, http)
            except httpx.HTTPError as exc:
                with load.lock:
                    load.failures.append((time.monotonic(), type(exc).__name__))
                continue
            with load.lock:
                if made.status_code == 201:
                    load.registered.append((time.monotonic(), made.json()["client_id"]))
                else:
                    load.failures.append((time.monotonic(), f"register {made.status_code}"))
                if added.status_code == 200 and '"text":"5' in added.text.replace(" ", ""):
                    load.calls.append(time.monotonic())
                else:
                    load.failures.append((time.monotonic(), f"call {added.status_code}"))


def test_a_worker_killed_under_load_loses_nothing_committed(postgres_cluster: Cluster, tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    stack = start_stack(postgres_cluster, tmp_path, workers=2, MCP_TRAY_RATE_LIMIT_SCALE="0")
    try:
        resolve_in_this_process(monkeypatch, stack.caddy)
        owner_on(monkeypatch, stack)
        token = run_flow(stack.public_url, "load").access_token
        load, stop = Load(), threading.Event()
        clients = [threading.Thread(target=_client, args=(stack.public_url, token, load, stop, n))
                   for n in range(CLIENTS)]
        for client in clients:
            client.start()
        time.sleep(3)
        victim = stack.serve.workers[0]
        os.kill(victim, signal.SIGKILL)
        killed_at = time.monotonic()
        time.sleep(5)
        stop.set()
        for client in clients:
            client.join(30)
        after = [t for t in load.calls if t > killed_at + 0.5]
        assert after, f"nothing served after the kill; failures: {load.failures[-5:]}"
        assert len([t for t, _ in load.registered if t > killed_at + 0.5]) > 0
        # Everything a client was told is done is in the store, whichever worker did it.
        store = Store(stack.data_dir)
        try:
            missing = [cid for _, cid in load.registered if store.client_info(cid) is None]
        finally:
            store.close()
        assert len(load.registered) > 20 and missing == []
        # The supervisor started the worker again: a new pid answers on the port.
        restarted = stack.serve.wait_for(lambda: f"worker 0 (pid {victim}) ended with signal SIGKILL"
                                          in stack.serve.text())
        assert restarted
        seen: set[int] = set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not seen - set(stack.serve.workers):
            with httpx.Client(timeout=5) as fresh:
                seen.add(int(fresh.get(f"{stack.serve.base}/health").json()["pid"]))
        assert seen - set(stack.serve.workers), seen
        assert victim not in seen
    finally:
        stack.serve.stop()
        stack.caddy.stop()
