"""The tray check of the bundle smoke test: the frozen GUI docks its icon in trayer under Xvfb."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from scripts.smoke_process import SmokeFailure, free_port, health, ok, started, wait_until

ROOT = Path(__file__).resolve().parent.parent


def window_ids(root_id: str | None = None) -> set[str]:
    """Every window id under the root (or under root_id)."""
    where = ["-id", root_id] if root_id else ["-root"]
    tree = subprocess.run(["xwininfo", "-tree", *where], capture_output=True, text=True, timeout=10, check=False)
    return set(re.findall(r"^\s+(0x[0-9a-f]+) ", tree.stdout, re.MULTILINE))


def foreign_windows(panel: str, before: set[str]) -> set[str]:
    """Windows that appeared under the panel and belong to another X client than trayer.

    An X server hands each client its own id range (the bits above the id mask, 21 bits on
    Xorg and Xvfb), so a window outside trayer's range is the icon the app docked (XEmbed).
    """
    client = int(panel, 16) >> 21
    return {w for w in window_ids(panel) - before if int(w, 16) >> 21 != client}


def trayer_window() -> str | None:
    """The id of trayer's panel window, once it is mapped."""
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, timeout=10, check=False)
    match = re.search(r"^\s+(0x[0-9a-f]+) \"panel\"", tree.stdout, re.MULTILINE)
    return match[1] if match else None


def check_tray(exe: Path, work: Path, display: str | None) -> None:
    """The frozen GUI under Xvfb with trayer: its icon window becomes a child of trayer's panel."""
    if not (ROOT / "app" / "ui" / "launch.py").exists():
        print(
            "bundle-smoke: SKIP the tray-icon check: app/ui/launch.py does not exist yet (no GUI in this tree)",
            flush=True,
        )
        return
    for tool in ("Xvfb", "trayer", "xwininfo"):
        if shutil.which(tool) is None:
            raise SmokeFailure(f"{tool} is not installed (scripts/setup.sh --test installs it)")
    read_fd, write_fd = os.pipe()
    xvfb_args = [f":{display}"] if display else ["-displayfd", str(write_fd)]
    xvfb = subprocess.Popen(
        ["Xvfb", *xvfb_args, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        if not display:
            with os.fdopen(read_fd) as chosen:
                display = chosen.readline().strip()
        else:
            os.close(read_fd)
            time.sleep(1)
        os.environ["DISPLAY"] = f":{display}"
        env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
        trayer = subprocess.Popen(
            ["trayer", "--edge", "top", "--widthtype", "request"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            panel = wait_until(trayer_window, 20, "trayer's panel window never appeared")
            before = window_ids(panel)
            port = free_port()
            command = [str(exe), "--data-dir", str(work / "gui-data"), "--port", str(port)]
            with started(command, env=env) as (child, _out, err):
                wait_until(
                    lambda: bool(foreign_windows(panel, before)) or child.poll() is not None,
                    60,
                    "no window of another X client was embedded in trayer's panel",
                )
                if child.poll() is not None:
                    raise SmokeFailure(f"the GUI exited with {child.returncode}: {''.join(err.lines)[-2000:]}")
                ok(
                    f"the frozen GUI's tray icon is embedded in trayer's panel {panel} "
                    f"(window {' '.join(sorted(foreign_windows(panel, before)))})"
                )
                try:
                    wait_until(lambda: health(port), 60, "the GUI's server never answered /health")
                except SmokeFailure as exc:
                    log = work / "gui-data" / "logs" / "mcp-tray.log"
                    detail = log.read_text(encoding="utf-8")[-2000:] if log.exists() else "(no log file)"
                    raise SmokeFailure(f"{exc}; stderr: {''.join(err.lines)[-1000:]}; log: {detail}") from exc
                ok(f"the GUI started its server on port {port}")
        finally:
            trayer.terminate()
            trayer.wait(10)
    finally:
        xvfb.terminate()
        xvfb.wait(10)
