#!/usr/bin/env python3
"""Soak test: `python -m app serve` for a bounded time under 8 OAuth clients doing tools/call with refresh.

Each client registers, signs in through the consent form, opens an MCP session and calls
`add(a, b)` in a loop, checking every answer; every --refresh-every seconds it rotates its
tokens and carries on with the new access token. At the end it prints the number of calls,
refreshes and errors (the goal is 0) and the server's resident memory at the start, after
warm-up, and at the end. Exit status: 0 with no errors, 1 otherwise.

    scripts/soak.sh                      # 10 minutes (make soak)
    scripts/soak.sh --seconds 30         # a short check of the script itself
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402 - after the path is set

# The soak drives the server with the same hand-rolled OAuth client as the security tests.
from bench.support.oauth import OAuthClient, rpc_result  # noqa: E402
from bench.support.serve import ServeProcess, free_port  # noqa: E402


def rss_kib(pid: int) -> int:
    """Resident set size of a process in KiB (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


@dataclass
class Tally:
    """What the clients did, shared between their threads."""

    calls: int = 0
    refreshes: int = 0
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def error(self, text: str) -> None:
        """Record one error (only the first 20 are kept verbatim)."""
        with self.lock:
            self.errors.append(text[:300])


def run_client(base_url: str, index: int, until: float, refresh_every: float, tally: Tally) -> None:
    """One client's loop until `until` (a time.monotonic() value)."""
    rng = random.Random(index)
    try:
        client = OAuthClient(base_url, name=f"Soak client {index}")
        tokens = client.login()
        access, refresh = tokens.access_token, tokens.refresh_token
        session = client.session(access)
    except (httpx.HTTPError, AssertionError, KeyError) as exc:
        tally.error(f"client {index} setup: {exc!r}")
        return
    next_refresh = time.monotonic() + refresh_every * (0.5 + rng.random())
    try:
        while time.monotonic() < until:
            a, b = rng.randint(-(10**6), 10**6), rng.randint(-(10**6), 10**6)
            try:
                answer = client.call_add(access, session, a, b)
                result = rpc_result(answer) if answer.status_code == 200 else {}
                value = result.get("result", {}).get("structuredContent", {}).get("result")
                if answer.status_code != 200 or value != a + b:
                    tally.error(f"client {index} call: HTTP {answer.status_code} {answer.text[:200]}")
                else:
                    with tally.lock:
                        tally.calls += 1
                if time.monotonic() >= next_refresh:
                    rotated = client.refresh(refresh)
                    if rotated.status_code != 200:
                        tally.error(
                            f"client {index} refresh: HTTP {rotated.status_code} {rotated.text[:200]}"
                        )
                        return
                    access, refresh = rotated.json()["access_token"], rotated.json()["refresh_token"]
                    with tally.lock:
                        tally.refreshes += 1
                    next_refresh = time.monotonic() + refresh_every
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                tally.error(f"client {index}: {exc!r}")
                time.sleep(0.5)
    finally:
        client.close()


def main(argv: list[str] | None = None) -> int:
    """Run the soak and print its figures."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=600.0, help="how long to run (default 600)")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
    parser.add_argument(
        "--refresh-every", type=float, default=30.0, help="seconds between refreshes per client"
    )
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="mcp-tray-soak-") as tmp:
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        server = ServeProcess(data_dir, free_port())
        try:
            rss_start = rss_kib(server.pid)
            tally = Tally()
            started = time.monotonic()
            until = started + args.seconds
            threads = [
                threading.Thread(
                    target=run_client, args=(server.base, i, until, args.refresh_every, tally)
                )
                for i in range(args.clients)
            ]
            for thread in threads:
                thread.start()
            warmup = min(30.0, args.seconds / 10)
            time.sleep(warmup)
            rss_warm = rss_kib(server.pid)
            rss_max = rss_warm
            while any(t.is_alive() for t in threads):
                time.sleep(1.0)
                rss_max = max(rss_max, rss_kib(server.pid))
            elapsed = time.monotonic() - started
            rss_end = rss_kib(server.pid)
            alive = server.proc.poll() is None
        finally:
            code, _ = server.stop()
    figures = {
        "seconds": round(elapsed, 1),
        "clients": args.clients,
        "calls": tally.calls,
        "calls_per_second": round(tally.calls / elapsed, 1),
        "refreshes": tally.refreshes,
        "errors": len(tally.errors),
        "server_alive_at_end": alive,
        "server_exit_code": code,
        "rss_kib_start": rss_start,
        "rss_kib_after_warmup": rss_warm,
        "rss_kib_end": rss_end,
        "rss_kib_max": rss_max,
        "rss_growth_after_warmup_percent": round(100.0 * (rss_end - rss_warm) / rss_warm, 1)
        if rss_warm
        else None,
    }
    print(json.dumps(figures, indent=2))
    for text in tally.errors[:20]:
        print("error:", text, file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if not tally.errors and alive and code == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
