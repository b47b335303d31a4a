"""Part 1: authenticated tools/call add through our full server beside the bare SDK server, alternating runs."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Started, load, start_bare, start_ours
from bench.support.oauth import obtain_tokens


@dataclass
class CallFigures:
    """Median over rounds of one server at one concurrency."""

    calls: int
    failures: int
    calls_per_s: float
    p50_ms: float
    p99_ms: float


def summarise(runs: list[dict[str, float]]) -> CallFigures:
    """Totals of calls and failures; medians of the rates and latencies."""
    return CallFigures(
        calls=int(sum(r["calls"] for r in runs)),
        failures=int(sum(r["failures"] for r in runs)),
        calls_per_s=statistics.median(r["calls_per_s"] for r in runs),
        p50_ms=statistics.median(r["p50_ms"] for r in runs),
        p99_ms=statistics.median(r["p99_ms"] for r in runs),
    )


def authorize(server: Started, data_dir: Path) -> str:
    """An access token for our server, from the real OAuth flow (register, owner's approval, token)."""
    return obtain_tokens(server.base, name="bench", data_dir=data_dir).access_token


def run_calls(data_dir: Path, calls: int, rounds: int) -> dict[str, dict[int, CallFigures]]:
    """{"ours"|"bare": {concurrency: figures}}; both servers run throughout, runs alternate between them."""
    ours = start_ours(data_dir)
    bare = start_bare()
    try:
        token = authorize(ours, data_dir)
        runs: dict[str, dict[int, list[dict[str, float]]]] = {"ours": {1: [], 8: []}, "bare": {1: [], 8: []}}
        for round_no in range(rounds):
            for concurrency in (1, 8):
                # Alternate which server goes first, so neither always runs on a warmer machine.
                order = [("ours", ours, token), ("bare", bare, None)]
                for name, server, bearer in order if round_no % 2 == 0 else order[::-1]:
                    runs[name][concurrency].append(load(server.mcp_url, bearer, calls, concurrency))
        return {name: {c: summarise(r) for c, r in per.items()} for name, per in runs.items()}
    finally:
        ours.stop()
        bare.stop()
