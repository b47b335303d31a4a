"""app/remote/program.py: on POSIX the tunnel program runs in a session of its own (start_new_session),
so a Ctrl+C in the terminal reaches MCP Tray, which then stops the tunnel itself in order; elsewhere
(Windows, where the option does not exist: os.name monkeypatched in a child here) it stays in ours."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from app.remote.cloudflared import CloudflaredQuick
from tests.remote import fake_programs as fake
from tests.support.serve import REPO

LOCAL = "http://127.0.0.1:8787"
posix = pytest.mark.skipif(os.name != "posix", reason="sessions and process groups are POSIX")

# A stand-in for `serve` in its own process group: it starts the tunnel, then the terminal's Ctrl+C
# (SIGINT to the whole foreground group) arrives; serve itself ignores it here, to see who else got it.
_CTRL_C = """
import os, signal, sys, time
from app.remote.cloudflared import CloudflaredQuick
signal.signal(signal.SIGINT, signal.SIG_IGN)
ingress = CloudflaredQuick()
if sys.argv[1] != "posix":
    os.name = sys.argv[1]  # read by start() alone; set after the imports, which need the real one
ingress.start("http://127.0.0.1:8787")
os.killpg(os.getpgrp(), signal.SIGINT)
time.sleep(1.0)
print("alive" if ingress._proc is not None and ingress._proc.poll() is None else "gone")
ingress.stop()
"""


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return path


def _ctrl_c(os_name: str) -> str:
    done = subprocess.run([sys.executable, "-c", _CTRL_C, os_name], cwd=REPO, capture_output=True, text=True,
                          timeout=60, start_new_session=True, check=True)
    return done.stdout.strip()


@posix
def test_the_tunnel_leads_its_own_session(bin_dir: Path) -> None:
    fake.install(bin_dir, "cloudflared", fake.QUICK_TUNNEL)
    ingress = CloudflaredQuick()
    ingress.start(LOCAL)
    try:
        proc = ingress._proc
        assert proc is not None
        assert os.getsid(proc.pid) == proc.pid != os.getsid(0)
        assert os.getpgid(proc.pid) == proc.pid != os.getpgrp()
    finally:
        ingress.stop()


@posix
def test_ctrl_c_in_the_terminal_does_not_reach_the_tunnel(bin_dir: Path) -> None:
    record = fake.install(bin_dir, "cloudflared", fake.QUICK_TUNNEL)
    assert _ctrl_c("posix") == "alive"
    assert [r for r in fake.records(record) if "signal" in r] == [{"signal": "SIGTERM"}]  # only our own stop


@posix
def test_without_a_session_of_its_own_ctrl_c_would_reach_it(bin_dir: Path) -> None:
    # What the Windows branch does (no start_new_session there): shown on POSIX, where the signal can be seen.
    record = fake.install(bin_dir, "cloudflared", fake.QUICK_TUNNEL)
    assert _ctrl_c("nt") == "gone"
    assert [r for r in fake.records(record) if "signal" in r] == [{"signal": signal.SIGINT.name}]
