"""The benchmark script runs end to end in its quick form and produces sane figures (never timing goals)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_quick_benchmark_runs_and_every_call_succeeds(tmp_path: Path) -> None:
    out, raw = tmp_path / "BENCHMARKS.md", tmp_path / "figures.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--out", str(out), "--json", str(raw)],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    figures = json.loads(raw.read_text())

    for server in ("ours", "bare", "bare_async"):  # both references: `def add` and `async def add`
        for concurrency in ("1", "8"):
            run = figures["calls"][server][concurrency]
            assert run["calls"] > 0 and run["failures"] == 0, (server, concurrency, run)
            assert run["calls_per_s"] > 0 and 0 < run["p50_ms"] <= run["p99_ms"]
    for audit in ("on", "off"):
        for concurrency in ("1", "8"):
            run = figures["audit"][audit][concurrency]
            assert run["calls"] > 0 and run["failures"] == 0 and run["calls_per_s"] > 0, (audit, run)
    assert figures["audit"]["rows"] >= figures["audit"]["on"]["1"]["calls"]  # every audited call left a row
    assert figures["audit"]["rows_off"] == 0  # the reference really ran without the audit log
    assert figures["audit"]["writer"]["verify_ok"] == 1.0
    assert len(figures["tokens"]) == 3
    for level in figures["tokens"].values():
        assert level["calls"] > 0 and level["failures"] == 0 and level["calls_per_s"] > 0
    assert figures["serve"]["median_s"] > 0 and figures["serve"]["idle_rss_mib"] > 0
    assert figures["growth"]["failures"] == 0 and figures["growth"]["after_mib"] > 0
    assert isinstance(figures["gui"], str)  # the quick run never starts the GUI

    report = out.read_text()
    assert "python -m compileall -q app" in report  # the timed starts ran from bytecode, and the report says so
    assert (REPO / "app" / "__pycache__").is_dir()
    assert "## Machine" in report and "CPUs:" in report and "mcp " in report
    assert "bare mcp SDK" in report and "100" in report and "Same footing" in report
    assert "Calls/s with / without the audit log" in report
    assert "| 1 | MCP Tray" in done.stdout  # the table is printed too
