"""Part 3: start-up time and memory, headless and (when the GUI exists) with the tray icon under Xvfb."""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bench.calls import authorize
from bench.procs import REPO, compile_app, load, rss_mib, start_ours, stop

GUI_DISPLAYS = (":97", ":98")  # the display numbers this benchmark may use


def serve_start(data_dir: Path, runs: int) -> dict[str, float]:
    """Seconds from spawning `mcp-tray serve` to its ready line (median, best), and idle RSS after it settles.

    The app's bytecode is written first, as an installed app has it (see compile_app).
    """
    compile_app()
    start_ours(data_dir).stop()  # first start creates the database; the timed ones find it there
    seconds: list[float] = []
    idle = 0.0
    for index in range(runs):
        server = start_ours(data_dir)
        seconds.append(server.seconds_to_ready)
        if index == runs - 1:
            time.sleep(2.0)
            idle = server.rss_mib()
        server.stop()
    return {"median_s": statistics.median(seconds), "best_s": min(seconds), "idle_rss_mib": idle}


def rss_growth(data_dir: Path, calls: int) -> dict[str, float]:
    """RSS before and after `calls` authenticated calls (after a warm-up of 1,000 or `calls`/10)."""
    server = start_ours(data_dir)
    try:
        token = authorize(server, data_dir)
        warm = load(server.mcp_url, token, max(100, min(1000, calls // 10)), 8)
        before = server.rss_mib()
        run = load(server.mcp_url, token, calls, 8)
        time.sleep(0.5)
        after = server.rss_mib()
        return {"calls": run["calls"] + warm["calls"], "failures": run["failures"] + warm["failures"],
                "before_mib": before, "after_mib": after, "growth_mib": after - before}
    finally:
        server.stop()


def gui_available() -> str | None:
    """None when the GUI can be measured here, else why not."""
    if not (REPO / "app" / "ui" / "launch.py").exists():
        return "app.ui.launch is not in this checkout yet"
    missing = [tool for tool in ("Xvfb", "trayer", "xwininfo") if shutil.which(tool) is None]
    return f"missing: {', '.join(missing)}" if missing else None


def _tray_children(display: str) -> int:
    """How many windows trayer's panel holds (the tray icons docked into it)."""
    env = {**os.environ, "DISPLAY": display}
    tree = subprocess.run(["xwininfo", "-root", "-tree"], env=env, capture_output=True, text=True,
                          timeout=10, check=False).stdout
    lines = tree.splitlines()
    for index, line in enumerate(lines):
        if '"panel"' in line and "trayer" in line.lower():
            for following in lines[index + 1:index + 3]:
                found = re.search(r"(\d+) child", following)
                if found:
                    return int(found.group(1))
    return 0


def _ready_lines(data_dir: Path) -> int:
    """How many times the app's log says its server was ready (the log outlives each run)."""
    log = data_dir / "logs" / "mcp-tray.log"
    return log.read_text(encoding="utf-8", errors="replace").count("MCP server ready") if log.exists() else 0


def _wait_server_ready(data_dir: Path, gui: subprocess.Popen[str], before: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while _ready_lines(data_dir) <= before:
        if gui.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the GUI's server never said it was ready")
        time.sleep(0.05)


def gui_start(data_dir: Path, runs: int) -> dict[str, float]:
    """Seconds from spawning the GUI to its icon docking in trayer (median, best), and RSS with the GUI at rest
    (its server ready, then 2 s). The app's bytecode is written first, as for serve_start."""
    compile_app()
    display = GUI_DISPLAYS[0]
    xvfb = subprocess.Popen(["Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
    trayer: subprocess.Popen[str] | None = None
    try:
        time.sleep(1.0)
        env = {**os.environ, "DISPLAY": display}
        env.pop("QT_QPA_PLATFORM", None)
        trayer = subprocess.Popen(["trayer", "--edge", "top", "--widthtype", "pixel", "--width", "200"], env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, text=True)
        time.sleep(1.0)
        base_children = _tray_children(display)
        seconds: list[float] = []
        rss = 0.0
        for index in range(runs + 1):  # the first run creates the data and is not timed
            ready_lines = _ready_lines(data_dir)
            began = time.perf_counter()
            gui = subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(data_dir), "--port", "0"],
                                   cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   text=True)
            try:
                deadline = time.monotonic() + 30
                while _tray_children(display) <= base_children:
                    if gui.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the tray icon never appeared")
                    time.sleep(0.02)
                if index > 0:
                    seconds.append(time.perf_counter() - began)
                if index == runs:  # at rest: the icon comes before the server code loads, so wait for it
                    _wait_server_ready(data_dir, gui, ready_lines)
                    time.sleep(2.0)
                    rss = rss_mib(gui.pid)
            finally:
                stop(gui)
            time.sleep(0.5)  # let the icon leave the tray before the next start
        return {"median_s": statistics.median(seconds), "best_s": min(seconds), "rss_mib": rss}
    finally:
        if trayer is not None:
            stop(trayer)
        stop(xvfb)
