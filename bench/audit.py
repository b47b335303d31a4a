"""Part 4: what the audit log of tool calls costs. Two `mcp-tray serve` processes, the same code, one with
the audit middleware and one without (MCP_TRAY_BENCH_AUDIT_OFF=1), measured in alternating turns by one load client;
plus the writer alone in this process: the caller's cost per entry, and rows written per second."""

from __future__ import annotations

import os
import time
from pathlib import Path

from app.server.app import AUDIT_OFF_ENV
from bench.calls import CallFigures, summarise
from bench.procs import Started, load_paired, start
from bench.support.oauth import obtain_tokens


def _serve(data_dir: Path, audit: bool) -> Started:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.pop(AUDIT_OFF_ENV, None)
    if not audit:
        env[AUDIT_OFF_ENV] = "1"
    return start(["-m", "app", "serve", "--port", "0", "--data-dir", str(data_dir)], env=env)


def audit_rows(data_dir: Path) -> int:
    """Rows in a data dir's audit log."""
    from app.store.store import Store

    store = Store(data_dir)
    try:
        return store.audit.count()
    finally:
        store.close()


def run_audit(data_dir: Path, calls: int, rounds: int) -> dict[str, object]:
    """{"on"|"off": {concurrency: figures}, "rows": rows the audited server wrote, "writer": {...}}."""
    on, off = _serve(data_dir / "on", True), _serve(data_dir / "off", False)
    try:
        tokens = {"on": obtain_tokens(on.base, name="bench", data_dir=data_dir / "on").access_token,
                  "off": obtain_tokens(off.base, name="bench", data_dir=data_dir / "off").access_token}
        runs: dict[str, dict[int, list[dict[str, float]]]] = {"on": {1: [], 8: []}, "off": {1: [], 8: []}}
        for _ in range(rounds):
            for concurrency in (1, 8):  # both in alternating turns of one load client (bench/loadclient.py)
                pair = load_paired([(on.mcp_url, tokens["on"]), (off.mcp_url, tokens["off"])], calls, concurrency)
                for name, summary in zip(("on", "off"), pair, strict=True):
                    runs[name][concurrency].append(summary)
        figures: dict[str, dict[int, CallFigures]] = {n: {c: summarise(r) for c, r in per.items()}
                                                       for n, per in runs.items()}
    finally:
        on.stop()
        off.stop()
    return {**figures, "rows": audit_rows(data_dir / "on"), "rows_off": audit_rows(data_dir / "off"),
            "writer": writer_alone(data_dir / "writer", 20_000)}


def writer_alone(data_dir: Path, entries: int) -> dict[str, float]:
    """The AuditWriter in this process: microseconds per record() on the caller, rows/s to disk."""
    from app.server.audit_writer import AuditWriter
    from app.store.audit import AuditEntry

    data_dir.mkdir(parents=True, exist_ok=True)
    writer = AuditWriter(data_dir)
    entry = AuditEntry(time.time(), "client", "bench", "grant", "tools/call", "add", '{"a": 1, "b": 2}', "ok", "",
                       1.0)
    began = time.perf_counter()
    for _ in range(entries):
        writer.record(entry)
    queued = time.perf_counter() - began
    writer.flush(120)
    written = time.perf_counter() - began
    writer.close()
    return {"entries": entries, "record_us": queued / entries * 1e6, "rows_per_s": entries / written,
            "verify_ok": float(_verify(data_dir))}


def _verify(data_dir: Path) -> bool:
    from app.store.store import Store

    store = Store(data_dir)
    try:
        return store.audit.verify().ok
    finally:
        store.close()
