"""The hosted soak, short: scripts/soak_hosted.py for 30 s on the test cluster (make soak-hosted runs 10 min)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from app.store.pg import POOL_SIZE
from tests.support.serve import REPO

pytestmark = pytest.mark.e2e


def test_short_hosted_soak_has_no_errors(postgres_url: str) -> None:
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "soak_hosted.py"), "--seconds", "30",
                           "--refresh-every", "8", "--database", postgres_url], cwd=REPO, capture_output=True,
                          text=True, timeout=300, check=False)
    figures = json.loads(done.stdout)
    verdict = {k: figures[k] for k in ("errors", "error_samples", "worker_restarts", "exit_code")}
    assert done.returncode == 0, (verdict, done.stderr[-2000:])
    assert figures["errors"] == 0 and figures["worker_restarts"] == 0 and figures["exit_code"] == 0
    assert figures["calls"] > 100 and figures["refreshes"] >= 8
    # No connection leak: each worker's pool grows on demand up to POOL_SIZE, plus its LISTEN connection.
    assert figures["db_connections_end"] <= figures["workers"] * (POOL_SIZE + 1)
