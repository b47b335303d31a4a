#!/usr/bin/env python3
"""Screenshots for the README: the tray menu, the dashboard with real tokens, settings, 200% scaling, consent,
the prompt for a held tool call and the Tool calls (audit) tab.

Runs the real app on its own Xvfb display with trayer as the tray, signs clients in through the
real OAuth flow (register, consent form, PKCE code exchange), and saves PNGs to docs/screenshots/.
Needs Xvfb, trayer, xdotool, x11-utils and ImageMagick (scripts/setup.sh --test installs them);
the consent-page shot also needs chromium and Playwright. Usage: scripts/screenshots.py [--display N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support.oauth import Tokens as Issued  # noqa: E402
from bench.support.oauth import authorize_url, mcp_status, pkce_pair, register, sign_in  # noqa: E402
from bench.support.xdisplay import TrayDisplay, missing_tools, tray_display  # noqa: E402

OUT = ROOT / "docs" / "screenshots"
SCREEN_W, SCREEN_H = 2400, 1400  # room for the dashboard at 200%


class RunningApp:
    """`python -m app` on the display, with its log to wait on."""

    def __init__(self, display: TrayDisplay, data_dir: Path, home: Path, scale: str | None = None) -> None:
        self.display = display
        self.log_file = data_dir / "logs" / "mcp-tray.log"
        self.log_file.unlink(missing_ok=True)
        extra = {"HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
        if scale:
            extra["QT_SCALE_FACTOR"] = scale
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app", "--data-dir", str(data_dir)], cwd=ROOT, env=display.env(**extra)
        )

    def wait_log(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log_file.read_text(encoding="utf-8") if self.log_file.exists() else ""
            found = re.search(pattern, text)
            if found:
                return found
            if self.proc.poll() is not None:
                raise SystemExit(f"the app exited early with {self.proc.returncode}")
            time.sleep(0.2)
        raise SystemExit(f"timed out waiting for {pattern!r} in {self.log_file}")

    def tray_center(self) -> tuple[int, int]:
        x, y, w, h = map(
            int, self.wait_log(r"tray icon embedded at x=(\d+) y=(\d+) w=(\d+) h=(\d+)").groups()
        )
        return x + w // 2, y + h // 2

    def quit(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def xdo(display: TrayDisplay, *args: str) -> str:
    return display.run("xdotool", *args)


def _position(geometry: str) -> tuple[int, int]:
    """A window's top-left corner from `xdotool getwindowgeometry`."""
    found = re.search(r"Position: (\d+),(\d+)", geometry)
    assert found is not None, geometry
    return int(found[1]), int(found[2])


def window_id(display: TrayDisplay, title: str, timeout: float = 10) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            ids = xdo(display, "search", "--onlyvisible", "--name", f"^{title}$").split()
        except subprocess.CalledProcessError:
            ids = []
        if ids:
            return ids[-1]
        time.sleep(0.2)
    raise SystemExit(f"no visible window titled {title!r}")


def save(display: TrayDisplay, source: str, name: str, crop: str | None = None) -> Path:
    """Capture a window (or the root, cropped) into docs/screenshots/name, small and without metadata."""
    path = OUT / name
    raw = Path(tempfile.mkstemp(suffix=".png")[1])
    display.run("import", "-window", source, str(raw))
    args = ["convert", str(raw)]
    if crop:
        args += ["-crop", crop, "+repage"]
    # 256 colours without dithering: UI pictures stay sharp at a third of the size.
    subprocess.run(
        [*args, "+dither", "-colors", "256", "-strip", "-define", "png:compression-level=9", str(path)],
        check=True,
    )
    raw.unlink()
    print(f"saved {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")
    return path


def open_menu(display: TrayDisplay, app: RunningApp) -> None:
    """Right-click the tray icon and wait until the menu is mapped."""
    x, y = app.tray_center()
    before = display.tree().count('"MCP Tray"')
    for _attempt in range(3):  # a click that lands while a tray message is up may only dismiss it
        xdo(display, "mousemove", str(x), str(y), "click", "3")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            if display.tree().count('"MCP Tray"') > before:
                time.sleep(0.5)
                return
            time.sleep(0.1)
    raise SystemExit("the tray menu did not open")


def sign_in_clients(base: str, data_dir: Path) -> list[Issued]:
    """Three apps sign in, each approved by the owner (CLI); two of them then use the server."""
    people = [
        sign_in(base, "Claude Desktop (mcp-remote)", "mcp offline_access openid profile email", data_dir),
        sign_in(base, "MCP Inspector", "mcp", data_dir),
        sign_in(base, "Python SDK script", "mcp offline_access", data_dir),
    ]
    for issued in people[:2]:
        mcp_status(base, issued.access_token)
    return people


def consent_shot(base: str) -> None:
    """The waiting room as chromium shows it (optional: needs Playwright and chromium)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("skipping the consent page: Playwright is not installed")
        return
    client_id = register(base, "Claude Desktop (mcp-remote)")
    url = authorize_url(base, client_id, pkce_pair()[1], "s", scope="mcp offline_access tools:files",
                        resource=f"{base}/mcp")
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=shutil.which("chromium") or "chromium",  # Debian's package
            headless=True,
            viewport={"width": 720, "height": 900},
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--no-first-run",
            ],
        )
        page = context.new_page()
        page.goto(url)
        page.wait_for_selector("#match-code")
        page.screenshot(path=str(OUT / "waiting-room.png"), full_page=True)
        context.close()
    subprocess.run(
        [
            "convert",
            str(OUT / "waiting-room.png"),
            "+dither",
            "-colors",
            "256",
            "-strip",
            "-define",
            "png:compression-level=9",
            str(OUT / "waiting-room.png"),
        ],
        check=True,
    )
    print("saved docs/screenshots/waiting-room.png")


class ToolCall(threading.Thread):
    """One tools/call from the SDK client, on its own thread (an Ask call waits for the owner)."""

    def __init__(self, base: str, issued: Issued, tool: str, args: dict[str, object]) -> None:
        super().__init__(daemon=True)
        self.base, self.issued, self.tool, self.args = base, issued, tool, args
        self.start()

    def run(self) -> None:
        import anyio
        from mcp.shared.exceptions import MCPError

        from bench.support.mcp_session import mcp_session

        async def go() -> None:
            async with mcp_session(self.base, self.issued.access_token) as (session, _):
                try:
                    await session.call_tool(self.tool, self.args)
                except MCPError:
                    pass  # HTTP 403 insufficient_scope: what the shot is about

        anyio.run(go)


def cli(data_dir: Path, *args: str) -> str:
    """`mcp-tray ARGS --data-dir D`, its output."""
    return subprocess.run([sys.executable, "-m", "app", *args, "--data-dir", str(data_dir)], cwd=ROOT,
                          capture_output=True, text=True, check=True).stdout


def prompt_and_audit_shots(display: TrayDisplay, data_dir: Path, base: str, people: list[Issued]) -> None:
    """Two held calls queue in the prompt window; then the Tool calls tab shows what happened."""
    import json

    claude, inspector, script = people
    ToolCall(base, inspector, "add", {"a": 2, "b": 3})
    ToolCall(base, script, "now", {})  # 403: that sign-in was not given tools:time; the tray offers it
    offer = window_id(display, r"Give Python SDK script access to date and time\?", timeout=20)
    time.sleep(1.0)
    save(display, offer, "scope-offer.png")
    geometry = xdo(display, "getwindowgeometry", offer)
    x, y = _position(geometry)
    xdo(display, "mousemove", str(x + 20), str(y + 20), "click", "1", "key", "Escape")  # not this time
    ToolCall(base, claude, "add", {"a": 1, "b": 2, "api_key": "sk-live-0123456789abcdef"}).join(20)
    cli(data_dir, "tools", "policy", "add", "ask")
    time.sleep(1.5)  # the running app picks the change up from tools.json within a second
    first = ToolCall(base, claude, "add", {"a": 40, "b": 2, "note": {"why": "the answer", "tags": ["demo"]}})
    time.sleep(0.8)
    second = ToolCall(base, inspector, "add", {"a": 7, "b": 35})
    prompt = window_id(display, "MCP Tray — a tool call waits for you", timeout=20)
    time.sleep(1.2)
    save(display, prompt, "prompt.png")
    for call in json.loads(cli(data_dir, "calls", "pending", "--json")):
        verdict = "allow" if call["client_name"].startswith("Claude") else "deny"
        cli(data_dir, "calls", verdict, call["call_id"])
    first.join(20)
    second.join(20)
    cli(data_dir, "tools", "policy", "add", "allow")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--display", type=int, default=92, help="X display number to use (default 92)")
    parser.add_argument("--no-consent", action="store_true", help="skip the chromium consent page shot")
    parser.add_argument("--widgets", action="store_true",
                        help="only the offscreen window shots at minimum and normal size (no X server needed)")
    args = parser.parse_args()
    if args.widgets:
        from scripts.widget_shots import widget_shots

        widget_shots(OUT)
        return 0
    missing = missing_tools()
    if missing:
        print(f"screenshots: missing {', '.join(missing)}", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as tmp,
        tray_display(args.display, f"{SCREEN_W}x{SCREEN_H}x24") as display,
    ):
        data_dir, home = Path(tmp) / "data", Path(tmp) / "home"
        data_dir.mkdir()
        home.mkdir()
        app = RunningApp(display, data_dir, home)
        base = app.wait_log(r"MCP server ready at (http://\S+)/mcp")[1]
        open_menu(display, app)
        save(display, "root", "tray-menu.png", f"440x260+{SCREEN_W - 440}+0")
        xdo(display, "key", "l")  # Configure Claude Desktop (a fake HOME: the real config is never touched)
        time.sleep(1.0)
        people = sign_in_clients(base, data_dir)
        time.sleep(2.5)  # the dashboard polls the store every second; let the notification show
        save(display, "root", "notification.png", f"600x130+{SCREEN_W - 600}+0")

        xdo(display, "mousemove", *map(str, app.tray_center()), "click", "1")  # left click: the dashboard
        dashboard = window_id(display, "MCP Tray")
        time.sleep(1.5)
        geometry = xdo(display, "getwindowgeometry", dashboard)
        left, top = _position(geometry)
        xdo(display, "mousemove", str(left + 110), str(top + 279), "click", "1")  # select a token row
        xdo(display, "mousemove", "--sync", str(SCREEN_W - 10), str(SCREEN_H - 10))  # pointer out of the shot
        time.sleep(0.5)
        save(display, dashboard, "dashboard.png")
        xdo(display, "mousemove", str(left + 283), str(top + 133), "click", "1")  # the Recent activity tab
        xdo(display, "mousemove", "--sync", str(SCREEN_W - 10), str(SCREEN_H - 10))
        time.sleep(0.5)
        save(display, dashboard, "activity.png")
        prompt_and_audit_shots(display, data_dir, base, people)
        xdo(display, "mousemove", str(left + 383), str(top + 133), "click", "1")  # the Tool calls tab
        xdo(display, "mousemove", "--sync", str(SCREEN_W - 10), str(SCREEN_H - 10))
        time.sleep(1.5)  # the tab reads the audit log once a second while it is shown
        save(display, dashboard, "audit.png")

        open_menu(display, app)
        xdo(display, "key", "t")  # Settings…
        settings = window_id(display, "MCP Tray settings")
        time.sleep(1.2)
        save(display, settings, "settings.png")
        if not args.no_consent:
            try:
                consent_shot(base)
            except Exception as exc:  # the browser is optional here: say why and go on
                print(f"skipping the consent page: {exc}", file=sys.stderr)
        app.quit()

        big = RunningApp(display, data_dir, home, scale="2")
        big.wait_log(r"MCP server ready at")
        xdo(display, "mousemove", *map(str, big.tray_center()), "click", "1")
        dashboard = window_id(display, "MCP Tray")
        time.sleep(1.5)
        save(display, dashboard, "dashboard-200.png")
        big.quit()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
