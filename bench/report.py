"""Turn the figures into a Markdown report (docs/BENCHMARKS.md) and a plain table for the terminal."""

from __future__ import annotations

import datetime
import os
import platform
import sqlite3
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from bench.calls import CallFigures, ratio_to
from bench.idle import report as idle_report

PACKAGES = ("mcp", "uvicorn", "starlette", "anyio", "httptools", "uvloop", "authlib", "PySide6-Essentials")
HISTORY = Path(__file__).with_name("history.md")
RATE_GOAL = 0.95  # authenticated calls/s against the bare SDK server (issue 12, item 14)
TAIL_GOAL = 1.1  # p99 latency against the bare SDK server


def machine() -> list[str]:
    """CPU count, date, OS, Python and package versions."""
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return [
        f"- Date: {datetime.datetime.now(datetime.UTC).strftime('%Y-%m-%d %H:%M UTC')}",
        f"- CPUs: {os.cpu_count()} ({platform.machine()}, {platform.system()} {platform.release()})",
        f"- Python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}",
        f"- Packages: {', '.join(versions)}",
    ]


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def calls_table(calls: dict[str, dict[int, CallFigures]]) -> list[str]:
    """Our server beside both bare SDK servers, with the ratios and the goals."""
    rows = ["| Concurrency | Server | Calls | Failures | Calls/s | p50 ms | p99 ms |",
            "|---|---|---:|---:|---:|---:|---:|"]
    labels = (("ours", "MCP Tray (OAuth, SQLite)"), ("bare", "bare mcp SDK (no auth), plain `def add`"),
              ("bare_async", "bare mcp SDK (no auth), `async def add`"))
    for concurrency in (1, 8):
        for name, label in labels:
            if name not in calls:
                continue
            f = calls[name][concurrency]
            rows.append(f"| {concurrency} | {label} | {f.calls} | {f.failures} | {f.calls_per_s:.0f} | "
                        f"{f.p50_ms:.2f} | {f.p99_ms:.2f} |")
    rows += ["", f"| Concurrency | Calls/s ratio to the plain-`def` server (goal >= {RATE_GOAL}) | "
             f"p99 ratio (goal <= {TAIL_GOAL}) | Same footing: calls/s and p99 ratios to the `async def` server |",
             "|---|---|---|---|"]
    for concurrency in (1, 8):
        rate, tail = ratio_to(calls, "bare", concurrency)
        same_rate, same_tail = ratio_to(calls, "bare_async", concurrency) if "bare_async" in calls else (0.0, 0.0)
        same = f"{same_rate:.3f}; {same_tail:.3f}" if "bare_async" in calls else "not measured"
        rows.append(f"| {concurrency} | {rate:.3f} ({_verdict(rate >= RATE_GOAL)}) | "
                    f"{tail:.3f} ({_verdict(tail <= TAIL_GOAL)}) | {same} |")
    return rows


def tokens_table(tokens: dict[int, dict[str, float]]) -> list[str]:
    """Calls/s by number of stored tokens, against the smallest level."""
    levels = sorted(tokens)
    base = tokens[levels[0]]["calls_per_s"]
    rows = ["| Stored tokens | Calls | Failures | Calls/s | p50 ms | p99 ms | vs 10 tokens (goal <= 1.1) |",
            "|---:|---:|---:|---:|---:|---:|---|"]
    for level in levels:
        t = tokens[level]
        ratio = base / t["calls_per_s"] if t["calls_per_s"] else float("inf")
        rows.append(f"| {level:,} | {int(t['calls'])} | {int(t['failures'])} | {t['calls_per_s']:.0f} | "
                    f"{t['p50_ms']:.2f} | {t['p99_ms']:.2f} | {ratio:.3f} ({_verdict(ratio <= 1.1)}) |")
    return rows


def start_table(serve: dict[str, float], growth: dict[str, float], gui: dict[str, float] | str) -> list[str]:
    """Start-up and memory figures against their goals."""
    rows = ["| Figure | Measured | Goal | |", "|---|---:|---:|---|",
            f"| `mcp-tray serve` start to ready line (median; best) | {serve['median_s']:.2f} s; "
            f"{serve['best_s']:.2f} s | <= 1.0 s | {_verdict(serve['median_s'] <= 1.0)} |",
            f"| Idle RSS, headless | {serve['idle_rss_mib']:.1f} MiB | <= 80 MiB | "
            f"{_verdict(serve['idle_rss_mib'] <= 80)} |",
            f"| RSS growth over {int(growth['calls']):,} calls ({int(growth['failures'])} failed; "
            f"{growth['before_mib']:.1f} -> {growth['after_mib']:.1f} MiB) | {growth['growth_mib']:.1f} MiB | "
            f"<= 10 MiB | {_verdict(growth['growth_mib'] <= 10)} |"]
    if isinstance(gui, str):
        rows += [f"| GUI start to tray icon shown | not available ({gui}) | <= 1.5 s | |",
                 f"| RSS with the GUI | not available ({gui}) | <= 150 MiB | |"]
    else:
        rows += [f"| GUI start to tray icon shown (median; best) | {gui['median_s']:.2f} s; {gui['best_s']:.2f} s "
                 f"| <= 1.5 s | {_verdict(gui['median_s'] <= 1.5)} |",
                 f"| RSS with the GUI | {gui['rss_mib']:.1f} MiB | <= 150 MiB | {_verdict(gui['rss_mib'] <= 150)} |"]
    return rows


def audit_table(audit: dict[str, Any]) -> list[str]:
    """The audited server beside the same server without the audit middleware, and the writer alone."""
    rows = ["| Concurrency | Server | Calls | Failures | Calls/s | p50 ms | p99 ms |",
            "|---|---|---:|---:|---:|---:|---:|"]
    for concurrency in (1, 8):
        for name, label in (("on", "audit log on"), ("off", "audit log off")):
            f = audit[name][concurrency]
            rows.append(f"| {concurrency} | {label} | {f.calls} | {f.failures} | {f.calls_per_s:.0f} | "
                        f"{f.p50_ms:.2f} | {f.p99_ms:.2f} |")
    rows += ["", "| Concurrency | Calls/s with / without the audit log | p99 with / without |", "|---|---|---|"]
    for concurrency in (1, 8):
        on, off = audit["on"][concurrency], audit["off"][concurrency]
        rate = on.calls_per_s / off.calls_per_s if off.calls_per_s else 0.0
        tail = on.p99_ms / off.p99_ms if off.p99_ms else 0.0
        rows.append(f"| {concurrency} | {rate:.3f} | {tail:.3f} |")
    w = audit["writer"]
    rows += ["", f"The audited server wrote {audit['rows']:,} audit rows (the other {audit['rows_off']:,}). "
             f"The writer alone: {w['record_us']:.1f} µs per entry on the calling thread (the event loop), "
             f"{w['rows_per_s']:,.0f} rows/s to disk in batches, chain verified: "
             f"{'yes' if w['verify_ok'] else 'NO'} ({int(w['entries']):,} entries)."]
    return rows


def markdown(results: dict[str, Any], quick: bool) -> str:
    """The whole report."""
    lines = ["# Benchmarks", "", "Written by `make bench` (`python -m bench`); do not edit by hand"
             + (" (this is a quick run: few calls, small token counts, no GUI)" if quick else "") + ".", "",
             "## Machine", "", *machine(), "",
             "## 1. Calls: `tools/call add` over `/mcp`", "",
             "The three servers run as subprocesses on loopback for the whole run. One load client (its own "
             "process) measures them in alternating turns of 100 calls, so a slow spell of the machine lands on "
             "each alike; it gives each worker one kept-alive HTTP connection and its own initialized MCP "
             "session, and POSTs JSON-RPC with the `Mcp-Session-Id`; ours also sends the bearer token from the "
             "real OAuth flow. Figures are medians over rounds; a ratio is the median of the rounds' ratios. "
             "The goal is set against the bare server as an "
             "SDK user writes it (`def add`, which the SDK runs in a worker thread); MCP Tray's built-in `add` "
             "is a coroutine and runs on the loop, so the ratio against the `async def` server is the cost of "
             "our layers alone.", "",
             *calls_table(results["calls"]), "",
             "## 2. Token checks by store size", "",
             "Authenticated calls one at a time while the store holds this many tokens (fillers written into "
             "the SQLite file by another process while the server runs).", "",
             *tokens_table(results["tokens"]), "",
             "## 3. Start-up and memory", "",
             "Before the timed starts the benchmark writes the app's bytecode (`python -m compileall -q app`, "
             "as pip does when it installs a package), so no timed start compiles `app/` from source; a first, "
             "untimed start creates the data dir. Medians over the starts of this run.", "",
             *start_table(results["serve"], results["growth"], results["gui"]), ""]
    if "audit" in results:
        lines += ["## 4. Audit log of tool calls: with and without", "",
                  "Two `mcp-tray serve` processes from the same code, one without the audit middleware "
                  "(`MCP_TRAY_BENCH_AUDIT_OFF=1`), the same load client measuring both in alternating turns of "
                  "100 calls; medians over rounds.",
                  "", *audit_table(results["audit"]), ""]
    if "idle" in results:
        lines += ["## 5. The tray app at rest", "",
                  "`python -m bench.idle`: the real tray app under Xvfb with trayer, no client connected, sampled "
                  "with psutil after a 15 s warm-up; then a process that shows the dashboard runs 3,600 of its "
                  "refreshes (an hour at one a second).", ""]
        idle_results = results["idle"]
        if isinstance(idle_results, str):
            lines += [f"Not measured: {idle_results}", ""]
        else:
            lines += [idle_report(idle_results["idle"], idle_results["hour"]), ""]
    if HISTORY.exists():
        lines += [HISTORY.read_text(encoding="utf-8").rstrip(), ""]
    return "\n".join(lines)
