"""Smoke-test the frozen bundle: version, headless server + OAuth + add, keyring, autostart, tray icon.

Run by scripts/bundle_smoke.sh inside a private D-Bus session with an unlocked gnome-keyring,
with the repository root on PYTHONPATH:
    python scripts/bundle_smoke.py dist/mcp-tray/mcp-tray [--display N]
Each check prints one line; the first failure stops the run with exit status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx

from app import __version__
from tests.support.oauth_flow import run_flow

ROOT = Path(__file__).resolve().parent.parent
KEYRING_WARNING = re.compile(r"keyring", re.IGNORECASE)
T = TypeVar("T")


class SmokeFailure(RuntimeError):
    """A check failed."""


def ok(message: str) -> None:
    """Report a passed check."""
    print(f"bundle-smoke: ok   {message}", flush=True)


def free_port() -> int:
    """A port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Reader(threading.Thread):
    """Collects a pipe's lines in the background so the child never blocks on a full pipe."""

    def __init__(self, stream: object) -> None:
        super().__init__(daemon=True)
        self.stream = stream
        self.lines: list[str] = []

    def run(self) -> None:
        for line in self.stream:  # type: ignore[attr-defined]
            self.lines.append(line)

    def wait_for(self, pattern: re.Pattern[str], timeout: float) -> re.Match[str] | None:
        """The first line matching pattern, waiting up to timeout seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                if match := pattern.search(line):
                    return match
            time.sleep(0.05)
        return None


@contextmanager
def started(
    command: list[str], env: dict[str, str] | None = None
) -> Iterator[tuple[subprocess.Popen[str], Reader, Reader]]:
    """A child with its output collected; stopped with SIGTERM (then SIGKILL) at the end."""
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    out, err = Reader(child.stdout), Reader(child.stderr)
    out.start()
    err.start()
    try:
        yield child, out, err
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        out.join(2)
        err.join(2)


def check_version(exe: Path) -> None:
    """`mcp-tray --version` prints the package version."""
    output = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60, check=False)
    if output.returncode != 0 or output.stdout.strip() != f"mcp-tray {__version__}":
        raise SmokeFailure(
            f"--version: status {output.returncode}, output {output.stdout!r} {output.stderr!r}"
        )
    ok(f"--version prints {output.stdout.strip()!r}")


def check_libraries(exe: Path) -> None:
    """Every shared library in the bundle finds all it links against (bundled or from the system)."""
    missing = []
    files = [p for p in exe.parent.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)]
    # The bootloader puts _internal on LD_LIBRARY_PATH; ldd should look where the app will.
    env = {**os.environ, "LD_LIBRARY_PATH": str(exe.parent / "_internal")}
    for path in files:
        linked = subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=30, check=False, env=env)
        missing += [f"{path.relative_to(exe.parent)}: {line.strip()}" for line in linked.stdout.splitlines()
                    if "not found" in line]
    if missing:
        raise SmokeFailure("unresolved libraries:\n" + "\n".join(missing))
    ok(f"all {len(files)} executables and shared libraries resolve their dependencies (ldd)")


def _is_elf(path: Path) -> bool:
    with path.open("rb") as file:
        return file.read(4) == b"\x7fELF"


def check_headless_fallback(exe: Path, work: Path) -> None:
    """With no display, plain `mcp-tray` says so and runs the server instead of the tray."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    port = free_port()
    command = [str(exe), "--data-dir", str(work / "headless-data"), "--port", str(port)]
    with started(command, env) as (_child, out, err):
        ready = out.wait_for(re.compile(r"MCP server ready at \S+"), 60)
        if ready is None or not err.wait_for(re.compile(r"no display found"), 5):
            raise SmokeFailure(f"no headless fallback: {''.join(out.lines)} {''.join(err.lines)[-1500:]}")
    ok("with no display, `mcp-tray` runs the server headless")


def check_serve(exe: Path, work: Path) -> None:
    """Headless server: ready line, OAuth flow, add = 5, CLI sees the token, keyring used, clean stop."""
    data_dir, port = work / "serve-data", free_port()
    with started([str(exe), "serve", "--port", str(port), "--data-dir", str(data_dir)]) as (child, out, err):
        ready = out.wait_for(re.compile(r"MCP server ready at (\S+)"), 60)
        if ready is None:
            raise SmokeFailure(f"serve printed no ready line; stderr: {''.join(err.lines)[-2000:]}")
        if ready[1] != f"http://127.0.0.1:{port}/mcp":
            raise SmokeFailure(f"ready line names {ready[1]}")
        ok(f"serve printed its ready line: {ready[0]}")
        result = run_flow(f"http://127.0.0.1:{port}")
        if result.add_result != 5:
            raise SmokeFailure(f"add(2, 3) returned {result.add_result}")
        ok("register -> authorize -> consent POST -> token -> tools/call add(2, 3) = 5")
        listed = subprocess.run(
            [str(exe), "--data-dir", str(data_dir), "tokens", "list"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if "bundle smoke test" not in listed.stdout:
            raise SmokeFailure(f"`tokens list` does not show the new token: {listed.stdout} {listed.stderr}")
        ok("`mcp-tray tokens list` (a second frozen process) shows the token")
        child.send_signal(signal.SIGTERM)
        status = child.wait(20)
    if status != 0:
        raise SmokeFailure(f"serve exited with {status} on SIGTERM; stderr: {''.join(err.lines)[-2000:]}")
    stderr = "".join(err.lines)
    if "Traceback" in stderr:
        raise SmokeFailure(f"serve wrote a traceback:\n{stderr}")
    if warnings := [line for line in err.lines if KEYRING_WARNING.search(line)]:
        raise SmokeFailure(f"the frozen build found no usable keyring: {''.join(warnings)}")
    ok("serve stopped cleanly on SIGTERM and gave no keyring warning")
    account = "consent-signing-key@" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:12]
    found = subprocess.run(
        ["secret-tool", "search", "--all", "service", "mcp-tray"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if account not in found.stdout + found.stderr:
        raise SmokeFailure(f"secret-tool finds no {account}: {found.stdout} {found.stderr}")
    ok(f"the consent-signing key is in gnome-keyring (service mcp-tray, account {account})")


def check_autostart(exe: Path, work: Path) -> None:
    """`autostart enable` writes a valid XDG entry that starts this bundle; `disable` removes it."""
    env = {**os.environ, "XDG_CONFIG_HOME": str(work / "config")}
    data_dir = work / "autostart-data"
    entry = work / "config" / "autostart" / "mcp-tray.desktop"
    for action in ("enable", "status"):
        done = subprocess.run(
            [str(exe), "--data-dir", str(data_dir), "autostart", action],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        if done.returncode != 0:
            raise SmokeFailure(f"autostart {action}: {done.returncode} {done.stdout} {done.stderr}")
    text = entry.read_text(encoding="utf-8")
    exec_line = next(line for line in text.splitlines() if line.startswith("Exec="))
    if not exec_line.startswith(f"Exec={exe.resolve()} "):
        raise SmokeFailure(f"the entry does not start the frozen executable: {exec_line}")
    icon = Path(next(line for line in text.splitlines() if line.startswith("Icon="))[5:])
    if not icon.is_file() or exe.resolve().parent not in icon.parents:
        raise SmokeFailure(f"the entry's icon is not a file inside the bundle: {icon}")
    validated = subprocess.run(
        ["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False
    )
    if validated.returncode != 0 or validated.stdout.strip():
        raise SmokeFailure(f"desktop-file-validate: {validated.stdout}{validated.stderr}")
    ok(f"autostart enable wrote a valid {entry.name} ({exec_line})")
    subprocess.run(
        [str(exe), "--data-dir", str(data_dir), "autostart", "disable"],
        env=env,
        check=True,
        capture_output=True,
        timeout=60,
    )
    if entry.exists():
        raise SmokeFailure("autostart disable left the entry behind")
    ok("autostart disable removed it")


def window_ids(root_id: str | None = None) -> set[str]:
    """Every window id under the root (or under root_id)."""
    where = ["-id", root_id] if root_id else ["-root"]
    tree = subprocess.run(
        ["xwininfo", "-tree", *where], capture_output=True, text=True, timeout=10, check=False
    )
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
    tree = subprocess.run(
        ["xwininfo", "-root", "-tree"], capture_output=True, text=True, timeout=10, check=False
    )
    match = re.search(r"^\s+(0x[0-9a-f]+) \"panel\"", tree.stdout, re.MULTILINE)
    return match[1] if match else None


def check_tray(exe: Path, work: Path, display: str | None) -> None:
    """The frozen GUI under Xvfb with trayer: its icon window becomes a child of trayer's panel."""
    if not (ROOT / "app" / "ui" / "launch.py").exists():
        print(
            "bundle-smoke: SKIP the tray-icon check: app/ui/launch.py does not exist yet (no GUI in this "
            "tree)",
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
            panel = _wait(trayer_window, 20, "trayer's panel window never appeared")
            before = window_ids(panel)
            port = free_port()
            command = [str(exe), "--data-dir", str(work / "gui-data"), "--port", str(port)]
            with started(command, env=env) as (child, _out, err):
                _wait(
                    lambda: bool(foreign_windows(panel, before)) or child.poll() is not None,
                    60,
                    "no window of another X client was embedded in trayer's panel",
                )
                if child.poll() is not None:
                    raise SmokeFailure(
                        f"the GUI exited with {child.returncode}: {''.join(err.lines)[-2000:]}"
                    )
                ok(
                    f"the frozen GUI's tray icon is embedded in trayer's panel {panel} "
                    f"(window {' '.join(sorted(foreign_windows(panel, before)))})"
                )
                try:
                    _wait(lambda: _health(port), 60, "the GUI's server never answered /health")
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


def _health(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def _wait(condition: Callable[[], T | None], timeout: float, failure: str) -> T:
    """condition()'s first truthy value, polling for up to timeout seconds; else SmokeFailure(failure)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise SmokeFailure(failure)


def main() -> int:
    """Run every check against the bundle."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("exe", type=Path)
    parser.add_argument("--display", help="X display number for Xvfb (default: let Xvfb pick a free one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mcp-tray-smoke-") as tmp:
        try:
            check_version(args.exe)
            check_libraries(args.exe)
            check_serve(args.exe, Path(tmp))
            check_headless_fallback(args.exe, Path(tmp))
            check_autostart(args.exe, Path(tmp))
            check_tray(args.exe, Path(tmp), args.display)
        except SmokeFailure as exc:
            print(f"bundle-smoke: FAIL {exc}", file=sys.stderr, flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
