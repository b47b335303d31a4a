"""`serve` wakes on SIGTERM/SIGINT or when its server thread ends, whenever the signal arrives.

The old wait set a threading.Event from the signal handler, which deadlocks when the signal lands
while the main thread holds the Event's lock; `serve` then ignored SIGTERM now and then. These run
the real StopSignal in a child process, with signals sent at many moments around the wait.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

CHILD = """
import os, signal, threading, time
from app.commands.serve import StopSignal

for i in range(200):
    stop = StopSignal()
    delay = (i % 20) / 20000  # 0 to 1 ms: before, during and after entering wait()
    if i % 3 == 2:
        threading.Timer(delay, stop.set).start()  # the server thread ended
    else:
        sig = signal.SIGTERM if i % 3 == 0 else signal.SIGINT
        threading.Timer(delay, os.kill, (os.getpid(), sig)).start()
    stop.wait()
print("woke", i + 1)
"""


def test_every_signal_and_every_set_wakes_the_wait() -> None:
    done = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "woke 200"


def test_a_signal_before_the_wait_is_not_lost() -> None:
    child = ("import os, signal\nfrom app.commands.serve import StopSignal\n"
             "stop = StopSignal()\nos.kill(os.getpid(), signal.SIGTERM)\nstop.wait()\nprint('woke')\n")
    done = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout.strip() == "woke", done.stderr
