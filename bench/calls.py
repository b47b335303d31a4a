"""Part 1: authenticated tools/call add through our full server beside the bare SDK server.

One load client measures all three servers in alternating turns of 100 calls (bench/loadclient.py,
`measure_paired`), so a slow spell of this shared machine lands on each alike; a round is one such
run per concurrency, and the figures are medians over rounds.

Two references, both the bare SDK server with no auth: "bare" with `add` a plain function, as an SDK
user writes it (the SDK runs it in a worker thread): the reference the goal is set against; and
"bare_async" with `add` a coroutine, as MCP Tray's built-in `add` is, so that the ratio against it is
what our layers (auth, audit, policy, guards) cost and nothing else.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from pathlib import Path

from bench.procs import Started, load_paired, start_bare, start_ours
from bench.support.oauth import obtain_tokens

SERVERS = ("ours", "bare", "bare_async")
CHUNK = 100  # calls per turn


@dataclass
class CallFigures:
    """Median over rounds of one server at one concurrency."""

    calls: int
    failures: int
    calls_per_s: float
    p50_ms: float
    p99_ms: float
    round_rates: list[float]  # calls/s of each round, in order: a ratio pairs the same round's figures
    round_p99s: list[float]


def summarise(runs: list[dict[str, float]]) -> CallFigures:
    """Totals of calls and failures; medians of the rates and latencies."""
    return CallFigures(
        calls=int(sum(r["calls"] for r in runs)),
        failures=int(sum(r["failures"] for r in runs)),
        calls_per_s=statistics.median(r["calls_per_s"] for r in runs),
        p50_ms=statistics.median(r["p50_ms"] for r in runs),
        p99_ms=statistics.median(r["p99_ms"] for r in runs),
        round_rates=[r["calls_per_s"] for r in runs],
        round_p99s=[r["p99_ms"] for r in runs],
    )


def authorize(server: Started, data_dir: Path) -> str:
    """An access token for our server, from the real OAuth flow (register, owner's approval, token)."""
    return obtain_tokens(server.base, name="bench", data_dir=data_dir).access_token


def ratio_to(calls: dict[str, dict[int, CallFigures]], reference: str, concurrency: int) -> tuple[float, float]:
    """(calls/s ratio, p99 ratio) of ours against a reference at one concurrency: the median of each round's
    ratio (the servers of a round were measured in alternating turns); 0.0 where undefined."""
    ours, ref = calls["ours"][concurrency], calls[reference][concurrency]

    def median_ratio(mine: list[float], theirs: list[float]) -> float:
        ratios = [a / b for a, b in zip(mine, theirs, strict=True) if b]
        return statistics.median(ratios) if ratios else 0.0

    return median_ratio(ours.round_rates, ref.round_rates), median_ratio(ours.round_p99s, ref.round_p99s)


def run_calls(data_dir: Path, calls: int, rounds: int) -> dict[str, dict[int, CallFigures]]:
    """{"ours"|"bare"|"bare_async": {concurrency: figures}}; all three servers run throughout."""
    ours = start_ours(data_dir)
    refs = {"bare": start_bare(), "bare_async": start_bare(async_tool=True)}
    try:
        targets = [(ours.mcp_url, authorize(ours, data_dir)), *((s.mcp_url, None) for s in refs.values())]
        runs: dict[str, dict[int, list[dict[str, float]]]] = {name: {1: [], 8: []} for name in SERVERS}
        for _ in range(rounds):
            for concurrency in (1, 8):
                figures = load_paired(targets, calls, concurrency, CHUNK)
                for name, summary in zip(SERVERS, figures, strict=True):
                    runs[name][concurrency].append(summary)
        return {name: {c: summarise(r) for c, r in per.items()} for name, per in runs.items()}
    finally:
        ours.stop()
        for server in refs.values():
            server.stop()
