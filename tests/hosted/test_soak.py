"""The hosted soak, short: scripts/soak_hosted.py for 30 s on the test cluster (make soak-hosted runs 10 min)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.support.serve import REPO

pytestmark = pytest.mark.e2e


def test_short_hosted_soak_has_no_errors(postgres_url: str) -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "soak_hosted.py"), "--seconds", "30",
                           "--refresh-every", "8", "--database", postgres_url], cwd=REPO, capture_output=True,
                          text=True, timeout=300, check=False)
    figures = json.loads(done.stdout)
    assert done.returncode == 0, (figures, done.stderr[-2000:])
    assert figures["errors"] == 0 and figures["worker_restarts"] == 0 and figures["exit_code"] == 0
    assert figures["calls"] > 100 and figures["refreshes"] >= 8
    # No connection leak: the pools hold what they held after warm-up (give or take one being opened).
    assert figures["db_connections_end"] <= figures["db_connections_after_warmup"] + 2
