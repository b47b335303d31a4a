# ruff: noqa: E501 - the programs' output is kept verbatim, long lines included
"""Stand-ins for `cloudflared` and `tailscale` on PATH: they record their argv, print what the real
programs print, then wait for a signal (no tunnel service is reachable from the test machines)."""

from __future__ import annotations

import json
import stat
import sys
from pathlib import Path

# What cloudflared 2024.x prints for a quick tunnel (to stderr, which the adapter merges).
QUICK_TUNNEL = """\
2025-01-20T10:00:00Z INF Thank you for trying Cloudflare Tunnel. Doing so, without a Cloudflare account, is a quick way to experiment and try it out.
2025-01-20T10:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...
2025-01-20T10:00:01Z INF +--------------------------------------------------------------------------------------------+
2025-01-20T10:00:01Z INF |  Your quick Tunnel has been created! Visit it at (it may take some time to be reachable):  |
2025-01-20T10:00:01Z INF |  https://violet-kite-mango-harbor.trycloudflare.com                                        |
2025-01-20T10:00:01Z INF +--------------------------------------------------------------------------------------------+
2025-01-20T10:00:01Z INF Version 2024.12.2
2025-01-20T10:00:02Z INF Registered tunnel connection connIndex=0 connection=1b2c event=0 ip=198.41.192.7 location=fra08 protocol=quic
"""
QUICK_OFFLINE = """\
2025-01-20T10:00:00Z INF Requesting new quick Tunnel on trycloudflare.com...
failed to request quick Tunnel: Post "https://api.trycloudflare.com/tunnel": dial tcp: lookup api.trycloudflare.com on 127.0.0.53:53: no such host
"""
NAMED_TUNNEL = """\
2025-01-20T10:00:00Z INF Starting tunnel tunnelID=6ff42ae2-765d-4adf-8112-31c55c1551ef
2025-01-20T10:00:00Z INF Version 2024.12.2
2025-01-20T10:00:01Z INF Registered tunnel connection connIndex=0 connection=7a1e event=0 ip=198.41.200.13 location=ams01 protocol=quic
"""
FUNNEL = """\
Available on the internet:

https://desk.tail1234.ts.net/
|-- proxy {target}

Press Ctrl+C to exit.
"""
TAILSCALED_DOWN = ("failed to connect to local tailscaled; it doesn't appear to be running "
                   "(sudo systemctl start tailscaled ?)\n")

_SCRIPT = '''#!{python}
import json, signal, sys, time
record = {record!r}
with open(record, "a") as f:
    f.write(json.dumps({{"argv": sys.argv}}) + "\\n")
def leave(signum, frame):
    with open(record, "a") as f:
        f.write(json.dumps({{"signal": signal.Signals(signum).name}}) + "\\n")
    sys.exit(0)
signal.signal(signal.SIGTERM, leave)
signal.signal(signal.SIGINT, leave)
signal.signal(signal.SIGUSR1, lambda s, f: sys.exit(1))
target = sys.argv[-1]
sys.stderr.write({output!r}.replace("{{target}}", target))
sys.stderr.flush()
if {exit_code!r} is not None:
    sys.exit({exit_code!r})
while True:
    time.sleep(3600)
'''


def install(bin_dir: Path, name: str, output: str, exit_code: int | None = None) -> Path:
    """Write a fake `name` into `bin_dir`; returns the file where it records argv and signals."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    record = bin_dir / f"{name}.record"
    script = bin_dir / name
    script.write_text(_SCRIPT.format(python=sys.executable, record=str(record), output=output,
                                     exit_code=exit_code))
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return record


def records(record: Path) -> list[dict[str, object]]:
    """What the fake wrote: its argv first, then the signals it got."""
    if not record.exists():
        return []
    return [json.loads(line) for line in record.read_text().splitlines() if line.strip()]
