"""Smoke-test the frozen bundle: version, no PostgreSQL, headless server + OAuth + add, keyring, autostart, tray icon.

Run by scripts/bundle_smoke.sh inside a private D-Bus session with an unlocked gnome-keyring,
with the repository root on PYTHONPATH:
    python scripts/bundle_smoke.py dist/mcp-tray/mcp-tray [--display N]
Each check prints one line; the first failure stops the run with exit status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from app import __version__
from bench.support import owner
from bench.support.oauth import run_flow
from scripts.bundle_smoke_bridge import check_bridge
from scripts.bundle_smoke_tray import check_tray
from scripts.smoke_process import SmokeFailure, free_port, ok, started

KEYRING_WARNING = re.compile(r"keyring", re.IGNORECASE)


def check_version(exe: Path) -> None:
    """`mcp-tray --version` prints the package version."""
    output = subprocess.run([str(exe), "--version"], capture_output=True, text=True, timeout=60, check=False)
    if output.returncode != 0 or output.stdout.strip() != f"mcp-tray {__version__}":
        raise SmokeFailure(f"--version: status {output.returncode}, output {output.stdout!r} {output.stderr!r}")
    ok(f"--version prints {output.stdout.strip()!r}")


def check_no_postgres(exe: Path, work: Path) -> None:
    """The bundle has no PostgreSQL driver: `serve --database URL` says so in one line, exit status 2."""
    command = [str(exe), "serve", "--data-dir", str(work / "pg-data"), "--port", str(free_port()),
               "--database", "postgresql://mcp@127.0.0.1:1/mcp"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    lines = done.stderr.strip().splitlines()
    if done.returncode != 2 or len(lines) != 1 or "cannot use PostgreSQL" not in lines[0] or done.stdout:
        raise SmokeFailure(f"serve --database: status {done.returncode}, output {done.stdout!r} {done.stderr!r}")
    ok(f"serve --database answers {lines[0]!r}")


def check_libraries(exe: Path) -> None:
    """Every shared library in the bundle finds all it links against (bundled or from the system)."""
    missing = []
    files = [p for p in exe.parent.rglob("*") if p.is_file() and not p.is_symlink() and _is_elf(p)]
    # The bootloader puts _internal on LD_LIBRARY_PATH; ldd should look where the app will.
    env = {**os.environ, "LD_LIBRARY_PATH": str(exe.parent / "_internal")}
    for path in files:
        linked = subprocess.run(["ldd", str(path)], capture_output=True, text=True, timeout=30, check=False, env=env)
        missing += [
            f"{path.relative_to(exe.parent)}: {line.strip()}"
            for line in linked.stdout.splitlines()
            if "not found" in line
        ]
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
        owner.remember(port, data_dir)
        result = run_flow(f"http://127.0.0.1:{port}")
        if result.add_result != 5:
            raise SmokeFailure(f"add(2, 3) returned {result.add_result}")
        ok("register -> authorize -> waiting page -> frozen `mcp-tray approve` -> token -> tools/call add(2, 3) = 5")
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
    validated = subprocess.run(["desktop-file-validate", str(entry)], capture_output=True, text=True, check=False)
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


PLUGIN = '''"""A tools-folder plugin written the way a user would, using the standard library."""

import cmath
import csv
import io
import statistics
import xml.etree.ElementTree as ET
from graphlib import TopologicalSorter
from html.parser import HTMLParser
from zoneinfo import ZoneInfo


def median_of_csv(text: str) -> float:
    """The median of the numbers in a one-column CSV text."""
    ZoneInfo("UTC"), ET.fromstring("<ok/>"), HTMLParser(), cmath.sqrt(-1)
    list(TopologicalSorter({"b": {"a"}}).static_order())
    return statistics.median(float(row[0]) for row in csv.reader(io.StringIO(text)))
'''


def check_plugins(exe: Path, work: Path) -> None:
    """A tools-folder plugin that imports common standard-library modules loads in the frozen app."""
    data_dir = work / "plugin-data"
    (data_dir / "tools").mkdir(parents=True)
    (data_dir / "tools" / "smoke_plugin.py").write_text(PLUGIN, encoding="utf-8")
    listed = subprocess.run(
        [str(exe), "--data-dir", str(data_dir), "tools", "list", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if listed.returncode != 0:
        raise SmokeFailure(f"`tools list` failed: {listed.stdout} {listed.stderr}")
    rows = {row["name"]: row for row in json.loads(listed.stdout)["tools"]}
    plugin = rows.get("median_of_csv")
    if plugin is None or plugin.get("error"):
        problems = [row for row in rows.values() if row.get("error")]
        raise SmokeFailure(f"the plugin did not load in the frozen app: {plugin or problems}")
    ok("a tools-folder plugin importing csv, statistics, graphlib, cmath, html.parser... loads (`tools list`)")


def main() -> int:
    """Run every check against the bundle."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("exe", type=Path)
    parser.add_argument("--display", help="X display number for Xvfb (default: let Xvfb pick a free one)")
    parser.add_argument("--portable", action="store_true",
                        help="only what every platform has: --version, and `serve` with the OAuth flow and add (CI)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="mcp-tray-smoke-") as tmp:
        # Sign-ins are approved as the owner would, with the frozen app's own `approve` (bench/support/owner.py).
        os.environ[owner.OWNER_COMMAND_ENV] = str(args.exe.resolve())
        os.environ[owner.SERVERS_FILE_ENV] = str(Path(tmp) / "servers.jsonl")
        try:
            check_version(args.exe)
            check_no_postgres(args.exe, Path(tmp))
            check_serve(args.exe, Path(tmp))
            if args.portable:
                return 0
            check_libraries(args.exe)
            check_bridge(args.exe, Path(tmp))
            check_headless_fallback(args.exe, Path(tmp))
            check_plugins(args.exe, Path(tmp))
            check_autostart(args.exe, Path(tmp))
            check_tray(args.exe, Path(tmp), args.display)
        except SmokeFailure as exc:
            print(f"bundle-smoke: FAIL {exc}", file=sys.stderr, flush=True)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
