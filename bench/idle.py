"""The tray app at rest: CPU and memory of the real GUI under Xvfb + trayer, with and without the dashboard.

`python -m bench.idle [--seconds N]` starts `python -m app` on a private X display with a system tray
(trayer), no client connected, and samples the process with psutil: first with the dashboard never
opened, then (in a fresh app) with the dashboard shown (a second `python -m app` asks the running one to
show it, as a user's second launch does). It prints CPU as a share of one core and RSS growth, both the
first-to-last change and the least-squares slope per hour. `--dashboard-hour` also drives the dashboard's
refresh for an hour's worth of refreshes in one process and prints the RSS afterwards.

Goals (issue 13): idle under 0.2 % of a core and under 2 MiB RSS growth an hour; after an hour-equivalent
of dashboard use, RSS under 150 MiB.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

from bench.support.xdisplay import TrayDisplay, free_display_number, tray_display, wait_for

REPO = Path(__file__).resolve().parents[1]
WARMUP_S = 15.0  # start-up work (imports, the first store read, the server starting) is not idle time
SAMPLE_S = 5.0


@dataclass(frozen=True)
class IdleFigures:
    """One sampled window of a running app."""

    label: str
    seconds: float
    cpu_percent: float  # of one core, over the window
    rss_start_mib: float
    rss_end_mib: float
    rss_slope_mib_per_hour: float

    @property
    def rss_growth_mib(self) -> float:
        """Last sample minus first."""
        return self.rss_end_mib - self.rss_start_mib


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@contextmanager
def _display() -> Iterator[TrayDisplay]:
    """A private Xvfb with trayer docked at the top, on a free display number."""
    with tray_display(free_display_number()) as display:
        yield display


def _app(display: TrayDisplay, data_dir: Path, *extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "app", "--data-dir", str(data_dir), *extra], cwd=REPO,
                            env=display.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_ready(data_dir: Path, proc: subprocess.Popen[bytes]) -> None:
    """Until the app's log says the server is ready (it then has nothing left to do)."""
    log = data_dir / "logs" / "mcp-tray.log"

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"the app exited with {proc.returncode}")
        return log.exists() and "MCP server ready" in log.read_text(encoding="utf-8", errors="replace")

    wait_for(ready, 60, "the server's ready line in the log")


def _slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MiB), in MiB per hour."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_m = sum(m for _, m in points) / n
    var = sum((t - mean_t) ** 2 for t, _ in points)
    cov = sum((t - mean_t) * (m - mean_m) for t, m in points)
    return cov / var * 3600 if var else 0.0


def sample(pid: int, seconds: float, label: str) -> IdleFigures:
    """CPU time and RSS of `pid` over `seconds` (after the warm-up the caller waited for)."""
    proc = psutil.Process(pid)
    began = time.monotonic()
    cpu0 = sum(proc.cpu_times()[:2])
    points: list[tuple[float, float]] = []
    while True:
        now = time.monotonic() - began
        points.append((now, proc.memory_info().rss / 2**20))
        if now >= seconds:
            break
        time.sleep(min(SAMPLE_S, max(0.0, seconds - now)))
    wall = time.monotonic() - began
    cpu = sum(proc.cpu_times()[:2]) - cpu0
    print(f"  {label}: {len(points)} samples, RSS {points[0][1]:.1f} -> {points[-1][1]:.1f} MiB", file=sys.stderr)
    return IdleFigures(label, wall, 100 * cpu / wall, points[0][1], points[-1][1], _slope(points))


def run_idle(seconds: float, dashboard: bool) -> IdleFigures:
    """A fresh app (fresh data dir, a free port) sampled for `seconds`, optionally with its dashboard shown."""
    with tempfile.TemporaryDirectory(prefix="mcp-tray-idle-") as tmp, _display() as display:
        data_dir = Path(tmp)
        app = _app(display, data_dir, "--port", "0")
        try:
            _wait_ready(data_dir, app)
            if dashboard:
                # A second launch asks the running app to show its window, then exits.
                subprocess.run([sys.executable, "-m", "app", "--data-dir", str(data_dir)], cwd=REPO,
                               env=display.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               timeout=60, check=True)
                wait_for(lambda: "MCP Tray" in display.tree(), 20, "the dashboard window")
            time.sleep(WARMUP_S)
            return sample(app.pid, seconds, "dashboard open" if dashboard else "dashboard never opened")
        finally:
            _stop(app)


def run_dashboard_hour(refreshes: int) -> dict[str, float]:
    """RSS of a process that showed the dashboard and ran `refreshes` refresh cycles (bench.dashboard_drive)."""
    with tempfile.TemporaryDirectory(prefix="mcp-tray-dash-") as tmp, _display() as display:
        done = subprocess.run([sys.executable, "-m", "bench.dashboard_drive", "--data-dir", tmp,
                               "--refreshes", str(refreshes)], cwd=REPO, env=display.env(),
                              capture_output=True, text=True, timeout=3600, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"dashboard driver failed: {done.stderr[-3000:]}")
        figures: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
        return figures


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(idle: list[IdleFigures], hour: dict[str, float] | None) -> str:
    """The figures as a Markdown table, against the goals."""
    rows = ["| Tray app, no client | Seconds | CPU (% of a core; goal < 0.2) | RSS first -> last (MiB) "
            "| RSS slope (MiB/hour; goal < 2) |", "|---|---:|---:|---:|---:|"]
    for f in idle:
        rows.append(f"| {f.label} | {f.seconds:.0f} | {f.cpu_percent:.3f} ({_verdict(f.cpu_percent < 0.2)}) | "
                    f"{f.rss_start_mib:.1f} -> {f.rss_end_mib:.1f} | {f.rss_slope_mib_per_hour:+.1f} "
                    f"({_verdict(f.rss_slope_mib_per_hour < 2)}) |")
    if hour is not None:
        rows += ["", "| Dashboard use | Refreshes | RSS before (MiB) | RSS after (MiB; goal < 150) | Seconds |",
                 "|---|---:|---:|---:|---:|",
                 f"| hour-equivalent | {int(hour['refreshes'])} | {hour['rss_before_mib']:.1f} | "
                 f"{hour['rss_after_mib']:.1f} ({_verdict(hour['rss_after_mib'] < 150)}) | {hour['seconds']:.0f} |"]
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    """Run both idle windows (and the dashboard hour, if asked) and print the table."""
    parser = argparse.ArgumentParser(prog="python -m bench.idle", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0, help="length of each sampled window (600)")
    parser.add_argument("--no-dashboard", action="store_true", help="only the never-opened window")
    parser.add_argument("--dashboard-hour", type=int, nargs="?", const=3600, default=None, metavar="REFRESHES",
                        help="also drive this many dashboard refreshes (3600 = an hour at one a second)")
    parser.add_argument("--json", type=Path, default=None, help="also write the raw figures here")
    args = parser.parse_args(argv)
    missing = [tool for tool in ("Xvfb", "trayer", "xwininfo") if shutil.which(tool) is None]
    if missing:
        print(f"bench.idle needs {', '.join(missing)}", file=sys.stderr)
        return 2
    print(f"idle tray app, {args.seconds:.0f} s a window ...", file=sys.stderr, flush=True)
    idle = [run_idle(args.seconds, dashboard=False)]
    if not args.no_dashboard:
        idle.append(run_idle(args.seconds, dashboard=True))
    hour = None
    if args.dashboard_hour:
        print(f"dashboard, {args.dashboard_hour} refreshes ...", file=sys.stderr, flush=True)
        hour = run_dashboard_hour(args.dashboard_hour)
    print(report(idle, hour))
    if args.json is not None:
        args.json.write_text(json.dumps({"idle": [asdict(f) for f in idle], "dashboard_hour": hour}, indent=2),
                             encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
