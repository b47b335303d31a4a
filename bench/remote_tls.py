"""Time to the first tool call through the public HTTPS URL (Caddy, nginx) against loopback, same run.

`scripts/with_keyring.sh .venv/bin/python -m bench.remote_tls [--runs N]`. One `serve --public-url`
behind a real Caddy (tls internal) and a real nginx (self-signed); each run does the whole client
path, interleaved across the three ways in: discovery, registration, authorization with the
owner's approval (the shared test helper), token exchange, then the SDK client's initialize and
tools/call add. A second figure is just connect + initialize + add with a token already held, which
isolates the TLS handshake and the proxy hop. Prints medians and ratios to loopback; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

import anyio

from bench.support.oauth import call_add, run_flow
from bench.support.proxies import TEST_HOST, Caddy, Nginx, Proxy
from bench.support.serve import ServeProcess, free_port


def _resolve_test_host() -> None:
    original = socket.getaddrinfo

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        name = host.decode() if isinstance(host, bytes) else host
        # the wrapper passes socket.getaddrinfo's own arguments through, so `object` is what they are to it
        return original("127.0.0.1" if name == TEST_HOST else host, *args, **kwargs)  # type: ignore[arg-type]  # as given

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]  # the same call, with one name resolved here


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    """Run and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    _resolve_test_host()
    # Latency, not the limits: the servers started here do not rate limit (one caller does it all).
    os.environ["MCP_TRAY_RATE_LIMIT_SCALE"] = "0"
    with tempfile.TemporaryDirectory(prefix="mcp-tray-remote-bench-") as tmp:
        root = Path(tmp)
        proxies: list[Proxy] = []
        serves: list[ServeProcess] = []
        try:
            for kind in (Caddy, Nginx):  # one server per public URL, each behind its own proxy
                upstream = free_port()
                proxy = kind(root / kind.name, upstream)
                proxies.append(proxy)
                (root / f"data-{kind.name}").mkdir()
                serves.append(ServeProcess(root / f"data-{kind.name}", upstream, public_url=proxy.public_url))
            ways = {"loopback": serves[0].base, "caddy (TLS)": proxies[0].public_url,
                    "nginx (TLS)": proxies[1].public_url}
            cas = {"caddy (TLS)": proxies[0].ca_file, "nginx (TLS)": proxies[1].ca_file}
            flow: dict[str, list[float]] = {w: [] for w in ways}
            call: dict[str, list[float]] = {w: [] for w in ways}
            failures: dict[str, list[str]] = {}
            for name, base in ways.items():  # warm-up: imports, first connections, caches
                _with_ca(cas.get(name), partial(run_flow, base, "warm-up"))
            for _ in range(args.runs):
                for name, base in ways.items():
                    holder: dict[str, str] = {}

                    def whole(b: str = base, h: dict[str, str] = holder) -> None:
                        h["token"] = run_flow(b, "bench").access_token

                    try:
                        flow[name].append(_with_ca(cas.get(name), partial(_timed, whole)))
                        connect_and_add = partial(anyio.run, call_add, base, holder["token"])
                        call[name].append(_with_ca(cas.get(name), partial(_timed, connect_and_add)))
                    except Exception as exc:  # counted and shown, never hidden
                        failures.setdefault(name, []).append(_innermost(exc))
        finally:
            for serve in serves:
                serve.stop()
            for started in proxies:
                started.stop()
    _print(flow, call, args.runs)
    for name, errors in failures.items():
        print(f"{name}: {len(errors)} failed run(s), first: {errors[0]}")
    return 1 if failures else 0


def _innermost(exc: BaseException) -> str:
    """The error under task-group wrappers, as one line."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return f"{type(exc).__name__}: {exc}"[:300]


def _with_ca(ca: Path | None, fn: Callable[[], float | object]) -> float:
    """Run `fn` trusting `ca` (SSL_CERT_FILE is read when each client is made)."""
    if ca is None:
        os.environ.pop("SSL_CERT_FILE", None)
    else:
        os.environ["SSL_CERT_FILE"] = str(ca)
    result = fn()
    return float(result) if isinstance(result, float) else 0.0


def _print(flow: dict[str, list[float]], call: dict[str, list[float]], runs: int) -> None:
    base_flow = statistics.median(flow["loopback"])
    base_call = statistics.median(call["loopback"])
    print(f"time to first tool call, median of {runs} runs each (interleaved), same machine, same run")
    print(f"{'way in':<14}{'sign-in + add (ms)':>20}{'ratio':>8}{'connect + add (ms)':>21}{'ratio':>8}")
    for name in flow:
        f, c = statistics.median(flow[name]), statistics.median(call[name])
        print(f"{name:<14}{f * 1000:>20.1f}{f / base_flow:>8.2f}{c * 1000:>21.1f}{c / base_call:>8.2f}")


if __name__ == "__main__":
    sys.exit(main())
