"""Kill -9 the Claude Desktop config writer at random moments: the file is always the old or a new one.

A subprocess rewrites our entry in a config of several MB over and over (alternating two URLs);
we SIGKILL it at a random time, many times. After each kill the config must parse and equal the
original or one of the two written versions, and so must every backup. Kills that left a temp
file behind prove we really hit the write itself, not only the parsing around it.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.clients import claude_desktop as cd
from tests.clients.helpers import canon, leftovers

REPO = Path(__file__).resolve().parents[2]
URLS = ["http://127.0.0.1:8001/mcp", "http://127.0.0.1:8002/mcp"]
MIN_KILLS, MAX_KILLS, WANTED_MID_WRITE = 25, 60, 3


def big_config() -> dict[str, Any]:
    """About 8 MB: many servers and a large cache-like list, with unknown keys."""
    servers = {f"server-{i:04d}": {"command": "/usr/bin/tool", "args": ["--flag", f"value-{i}"],
                                   "env": {"K": str(i)}} for i in range(300)}
    return {"globalShortcut": "Ctrl+Space", "mcpServers": servers,
            "cache": ["y" * 1000 + str(i) for i in range(8000)], "tail": {"a": [1, 2.5, None]}}


def with_entry(doc: dict[str, Any], url: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(json.dumps(doc))
    out["mcpServers"]["mcp-tray"] = cd.bridge_entry(url)
    return out


def test_config_is_never_truncated_when_the_writer_is_killed(tmp_path: Path) -> None:
    config = tmp_path / "claude_desktop_config.json"
    original = big_config()
    config.write_text(json.dumps(original, indent=2), "utf-8")
    allowed = {canon(original), *(canon(with_entry(original, u)) for u in URLS)}
    rng = random.Random(int(os.environ.get("KILL_SEED", time.time_ns())))
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    kills = mid_write = replaced = 0
    last = canon(original)

    while kills < MAX_KILLS and (kills < MIN_KILLS or mid_write < WANTED_MID_WRITE):
        command = [sys.executable, "-m", "tests.clients.kill_worker", str(config), *URLS]
        worker = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True)
        assert worker.stdout is not None and worker.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        worker.send_signal(signal.SIGKILL)
        _, err = worker.communicate(timeout=30)
        assert worker.returncode == -signal.SIGKILL, err  # it was still writing, not crashed
        kills += 1

        now = canon(json.loads(config.read_text("utf-8")))  # parses: never truncated
        assert now in allowed
        replaced += now != last
        last = now
        temps = leftovers(tmp_path)
        mid_write += bool(temps)
        for temp in temps:  # what a killed writer leaves is only its own hidden temp file
            temp.unlink()
        newest = sorted(tmp_path.glob(config.name + ".bak-*"))[-1:]
        for backup in newest:
            assert canon(json.loads(backup.read_text("utf-8"))) in allowed

    for backup in tmp_path.glob(config.name + ".bak-*"):
        assert canon(json.loads(backup.read_text("utf-8"))) in allowed
    assert sorted(p.name for p in tmp_path.iterdir() if ".bak-" not in p.name) == [config.name]
    print(f"\n{kills} kills, {mid_write} during a file write, {replaced} after a completed replace")
    assert mid_write >= 1, "no kill landed during a write; the test proved nothing"
    assert replaced >= 1
