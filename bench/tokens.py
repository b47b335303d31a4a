"""Part 2: authenticated calls/s with 10, 1,000 and 100,000 tokens in the store.

The fillers are written straight into the server's SQLite file (its own schema), from this
process while the server runs, the way another MCP Tray process would write.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import statistics
import time
from pathlib import Path

from app.store.db import DB_NAME
from bench.calls import authorize
from bench.procs import load, start_ours

FILLER_GRANT = "benchfillergrant"


def set_fillers(db_path: Path, client_id: str, count: int) -> None:
    """Make the store hold exactly `count` filler tokens (plus the real ones) under one filler grant."""
    conn = sqlite3.connect(db_path, timeout=30, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout=30000")
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("DELETE FROM tokens WHERE grant_id = ?", (FILLER_GRANT,))
        conn.execute(
            "INSERT OR IGNORE INTO grants (grant_id, client_id, scopes, resource, redirect_uri, created_at)"
            " VALUES (?, ?, 'mcp', NULL, 'http://127.0.0.1:9/callback', ?)", (FILLER_GRANT, client_id, time.time()))
        now = time.time()
        conn.executemany(
            "INSERT INTO tokens (token_id, token_hash, kind, grant_id, client_id, scopes, resource, created_at,"
            " expires_at) VALUES (?, ?, 'access', ?, ?, 'mcp', NULL, ?, ?)",
            ((f"f{i:07d}", hashlib.sha256(secrets.token_bytes(16)).hexdigest(), FILLER_GRANT, client_id, now,
              now + 3600) for i in range(count)))
        conn.execute("COMMIT")
    finally:
        conn.close()


def stored_tokens(db_path: Path) -> int:
    """How many rows the tokens table holds."""
    conn = sqlite3.connect(db_path, timeout=30)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM tokens").fetchone()[0])
    finally:
        conn.close()


def run_tokens(data_dir: Path, levels: list[int], calls: int, rounds: int) -> dict[int, dict[str, float]]:
    """{stored tokens: {"calls_per_s", "p50_ms", "p99_ms", "calls", "failures"}}, medians over rounds."""
    server = start_ours(data_dir)
    try:
        tokens_client = authorize(server, data_dir)
        db_path = data_dir / DB_NAME
        conn = sqlite3.connect(db_path)
        client_id = str(conn.execute("SELECT client_id FROM clients LIMIT 1").fetchone()[0])
        conn.close()
        real = stored_tokens(db_path)
        runs: dict[int, list[dict[str, float]]] = {n: [] for n in levels}
        for _ in range(rounds):
            for level in levels:
                set_fillers(db_path, client_id, max(0, level - real))
                runs[level].append(load(server.mcp_url, tokens_client, calls, 1))
        return {level: {
            "stored": float(level), "calls": sum(r["calls"] for r in rs), "failures": sum(r["failures"] for r in rs),
            "calls_per_s": statistics.median(r["calls_per_s"] for r in rs),
            "p50_ms": statistics.median(r["p50_ms"] for r in rs),
            "p99_ms": statistics.median(r["p99_ms"] for r in rs)} for level, rs in runs.items()}
    finally:
        server.stop()
