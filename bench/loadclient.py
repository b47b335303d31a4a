"""The load client, run in its own process: N workers, each with one kept-alive HTTP connection and its
own initialized MCP session, sending JSON-RPC `tools/call add` POSTs back to back.

The same client drives our server and the bare SDK server, so the only difference is the server.
Prints one JSON object: calls, failures, seconds, calls/s, p50 and p99 in milliseconds; given several
URLs, it measures them in alternating turns (`measure_paired`) and prints a list of such objects.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

PROTOCOL = "2025-06-18"


@dataclass
class WorkerResult:
    """What one worker measured."""

    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    first_error: str = ""


class Session:
    """One HTTP connection and one MCP session on it."""

    def __init__(self, url: str, token: str | None) -> None:
        parts = urlsplit(url)
        self.path = parts.path or "/mcp"
        self.conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=30)
        self.headers = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.next_id = 1

    def post(self, message: dict[str, object]) -> tuple[int, str]:
        """POST one JSON-RPC message; the status and the whole body (JSON or an SSE stream)."""
        if self.conn.sock is None:
            self.conn.connect()
            # Like any HTTP client worth measuring with: no Nagle delay on small requests.
            sock = self.conn.sock
            assert sock is not None, "connect() has just opened it"
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        # bytes, so http.client sends headers and body in one write (no Nagle / delayed-ACK stall)
        self.conn.request("POST", self.path, body=json.dumps(message).encode(), headers=self.headers)
        response = self.conn.getresponse()
        body = response.read().decode("utf-8", "replace")
        if response.status == 200 and "mcp-session-id" not in {k.lower() for k in self.headers}:
            session = response.getheader("mcp-session-id")
            if session:
                self.headers["Mcp-Session-Id"] = session
        return response.status, body

    def initialize(self) -> None:
        """initialize, then notifications/initialized, as a client does before any call."""
        status, body = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}}})
        if status != 200:
            raise RuntimeError(f"initialize answered {status}: {body[:200]}")
        self.headers["MCP-Protocol-Version"] = PROTOCOL
        status, body = self.post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        if status not in (200, 202):
            raise RuntimeError(f"notifications/initialized answered {status}: {body[:200]}")

    def call_add(self) -> str | None:
        """One tools/call add(2, 3); None when the answer is 5, else what went wrong."""
        self.next_id += 1
        status, body = self.post({"jsonrpc": "2.0", "id": self.next_id, "method": "tools/call",
                                  "params": {"name": "add", "arguments": {"a": 2, "b": 3}}})
        if status != 200:
            return f"HTTP {status}: {body[:200]}"
        payload = _json_rpc_payload(body)
        result = payload.get("result") if isinstance(payload, dict) else None
        if not isinstance(result, dict) or result.get("isError") or "5" not in json.dumps(result.get("content")):
            return f"unexpected answer: {body[:200]}"
        return None


def _json_rpc_payload(body: str) -> object:
    """The JSON-RPC message in a plain JSON body or in the last `data:` line of an SSE stream."""
    text = body.strip()
    if text.startswith("{"):
        return json.loads(text)
    data = [line[5:].strip() for line in text.splitlines() if line.startswith("data:") and line[5:].strip()]
    return json.loads(data[-1]) if data else None


def run_worker(url: str, token: str | None, calls: int, warmup: int, result: WorkerResult,
               start: threading.Barrier) -> None:
    """Warm up, wait for every worker, then make `calls` calls and time each one."""
    session = Session(url, token)
    try:
        session.initialize()
        for _ in range(warmup):
            session.call_add()
    except (OSError, http.client.HTTPException, RuntimeError, ValueError) as exc:
        result.failures = calls
        result.first_error = f"{type(exc).__name__}: {exc}"
        start.wait()
        return
    start.wait()
    _calls(session, calls, result)
    session.conn.close()


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of the sorted values fall (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return ordered[index]


def measure(url: str, token: str | None, calls: int, concurrency: int, warmup: int = 20) -> dict[str, object]:
    """Run the workers and summarise: calls, failures, seconds, calls_per_s, p50_ms, p99_ms."""
    per_worker = max(1, calls // concurrency)
    results = [WorkerResult() for _ in range(concurrency)]
    start = threading.Barrier(concurrency + 1)
    threads = [threading.Thread(target=run_worker, args=(url, token, per_worker, warmup, r, start), daemon=True)
               for r in results]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    return _summary(results, time.perf_counter() - began)


def measure_paired(targets: list[tuple[str, str | None]], calls: int, concurrency: int, chunk: int = 100,
                   warmup: int = 20) -> list[dict[str, object]]:
    """Measure several servers in turns of `chunk` calls each, the order of each turn rotating.

    Every server gets `concurrency` sessions of its own; in a turn, one server's sessions make
    `chunk` calls between them while the others wait. Turns take a fraction of a second, so a
    slow spell of a shared machine lands on every server alike, where whole runs one after another
    catch it on one server only. Per server: calls, failures, the seconds of its own turns,
    calls_per_s over those seconds, p50_ms and p99_ms.
    """
    per_turn = max(1, chunk // concurrency)
    turns = max(1, calls // (per_turn * concurrency))
    sessions = [[Session(url, token) for _ in range(concurrency)] for url, token in targets]
    results = [[WorkerResult() for _ in range(concurrency)] for _ in targets]
    broken = [False for _ in targets]
    for index, (group, group_results) in enumerate(zip(sessions, results, strict=True)):
        for session, result in zip(group, group_results, strict=True):
            try:
                session.initialize()
                for _ in range(warmup):
                    session.call_add()
            except (OSError, http.client.HTTPException, RuntimeError, ValueError) as exc:
                result.failures = turns * per_turn
                result.first_error = f"{type(exc).__name__}: {exc}"
                broken[index] = True
    seconds = [0.0 for _ in targets]
    for turn in range(turns):
        shift = turn % len(targets)
        for index in [*range(shift, len(targets)), *range(shift)]:
            if broken[index]:
                continue
            threads = [threading.Thread(target=_calls, args=(session, per_turn, result), daemon=True)
                       for session, result in zip(sessions[index], results[index], strict=True)]
            began = time.perf_counter()
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            seconds[index] += time.perf_counter() - began
    for group in sessions:
        for session in group:
            session.conn.close()
    return [_summary(group_results, spent) for group_results, spent in zip(results, seconds, strict=True)]


def _calls(session: Session, count: int, result: WorkerResult) -> None:
    """`count` timed calls on one session."""
    for _ in range(count):
        began = time.perf_counter()
        try:
            problem = session.call_add()
        except (OSError, http.client.HTTPException, ValueError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
            session.conn.close()
        result.latencies.append(time.perf_counter() - began)
        if problem is not None:
            result.failures += 1
            result.first_error = result.first_error or problem


def _summary(results: list[WorkerResult], seconds: float) -> dict[str, object]:
    latencies = [x for r in results for x in r.latencies]
    return {
        "calls": len(latencies), "failures": sum(r.failures for r in results), "seconds": seconds,
        "calls_per_s": len(latencies) / seconds if seconds > 0 else 0.0,
        "p50_ms": percentile(latencies, 0.50) * 1000, "p99_ms": percentile(latencies, 0.99) * 1000,
        "first_error": next((r.first_error for r in results if r.first_error), ""),
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.loadclient URL [URL ...] --calls N --concurrency C`; prints JSON.

    One URL: a plain run (bearer token in BENCH_TOKEN). Several: `measure_paired`, the token of the
    i-th URL in BENCH_TOKEN_i (none: no Authorization header), one JSON list in their order.
    """
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("url", nargs="+")
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--chunk", type=int, default=100, help="calls per turn when measuring several servers")
    args = parser.parse_args(argv)
    if len(args.url) == 1:
        token = os.environ.get("BENCH_TOKEN") or None  # from the environment: not shown in `ps`
        print(json.dumps(measure(args.url[0], token, args.calls, args.concurrency, args.warmup)), flush=True)
        return 0
    targets = [(url, os.environ.get(f"BENCH_TOKEN_{i}") or None) for i, url in enumerate(args.url)]
    print(json.dumps(measure_paired(targets, args.calls, args.concurrency, args.chunk, args.warmup)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
