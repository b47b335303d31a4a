"""The bundle smoke test's OAuth driver (tests/support/oauth.py, run_flow) works against the real server.

The smoke test runs it against the frozen app only in the slower bundle step; this keeps the driver
itself checked by the normal suite, so a change in the server shows up here first.
"""

from __future__ import annotations

from app.server.runner import ServerRunner
from tests.conftest import parts_of
from tests.support.oauth import run_flow


def test_flow_registers_consents_exchanges_and_adds(server: ServerRunner) -> None:
    result = run_flow(server.base_url, client_name="smoke driver test")
    assert result.add_result == 5
    assert result.refresh_token
    tokens = parts_of(server).store.list_tokens()
    assert {t.client_name for t in tokens} == {"smoke driver test"}
