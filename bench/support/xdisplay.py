"""A real X display with a real system tray: Xvfb plus trayer (an XEmbed tray host)."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

NEEDED = ("Xvfb", "trayer", "xwininfo", "xdotool")


def missing_tools() -> list[str]:
    """The binaries this needs that are not installed."""
    return [b for b in NEEDED if shutil.which(b) is None]


@dataclass(frozen=True)
class TrayDisplay:
    """A running display: its name (':91') and the environment for programs that should use it."""

    name: str

    def env(self, **extra: str) -> dict[str, str]:
        """os.environ with DISPLAY set and any offscreen platform removed."""
        env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
        env.update(DISPLAY=self.name, **extra)
        return env

    def run(self, *args: str) -> str:
        """Run an X tool (xwininfo, xdotool, import) on this display; its stdout."""
        return subprocess.run(
            args, env=self.env(), capture_output=True, text=True, timeout=20, check=True
        ).stdout

    def tree(self) -> str:
        """`xwininfo -root -tree`."""
        return self.run("xwininfo", "-root", "-tree")


def wait_for(check: Callable[[], object], timeout: float, what: str) -> None:
    """Poll `check` every 0.1 s until it is true; RuntimeError naming `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


def free_display_number(low: int = 150, high: int = 450) -> int:
    """A display number in [low, high] that no X server holds (no lock file, no socket)."""
    for _ in range(200):
        number = random.randint(low, high)
        # Where X servers put their lock and socket (fixed paths, not temporary files of ours).
        lock, sock = Path(f"/tmp/.X{number}-lock"), Path(f"/tmp/.X11-unix/X{number}")  # noqa: S108
        if not lock.exists() and not sock.exists():
            return number
    raise RuntimeError("no free X display number")


def _held(lock: Path) -> bool:
    try:
        pid = int(lock.read_text().strip())
    except (OSError, ValueError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(display: TrayDisplay) -> bool:
    try:
        display.run("xwininfo", "-root")
    except subprocess.SubprocessError:
        return False
    return True


@contextmanager
def tray_display(number: int, size: str = "1280x800x24") -> Iterator[TrayDisplay]:
    """Xvfb :number with trayer docked top right; both stopped on exit."""
    name = f":{number}"
    lock = Path(f"/tmp/.X{number}-lock")  # noqa: S108 - where the X server keeps its lock
    # A display we used a moment ago may still be shutting down; starting over it fails.
    # (A lock whose process is gone is stale; Xvfb clears that itself.)
    wait_for(lambda: not _held(lock), 10, f"{name} to be free")
    xvfb = subprocess.Popen(
        ["Xvfb", name, "-screen", "0", size, "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    trayer: subprocess.Popen[bytes] | None = None
    try:
        display = TrayDisplay(name)
        wait_for(lambda: xvfb.poll() is not None or _answers(display), 10, f"Xvfb on {name}")
        if xvfb.poll() is not None:
            raise RuntimeError(f"Xvfb could not start on {name} (is the display taken?)")
        trayer = subprocess.Popen(
            [
                "trayer",
                "--edge",
                "top",
                "--align",
                "right",
                "--SetDockType",
                "true",
                "--transparent",
                "false",
                "--widthtype",
                "request",
                "--height",
                "26",
            ],
            env=display.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(lambda: '"panel"' in display.tree(), 10, "trayer's panel")
        yield display
    finally:
        for proc in (trayer, xvfb):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(5)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

