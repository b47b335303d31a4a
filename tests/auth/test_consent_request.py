"""Waiting-page links: signed, so nobody can forge or guess the page of another request."""

from __future__ import annotations

import pytest

from app.auth.consent_request import BadConsentRequestError, ConsentRequest, ConsentSigner
from app.auth.origins import ServerIdentity


def _request() -> ConsentRequest:
    return ConsentRequest.new(client_id="c", redirect_uri="http://127.0.0.1:5/cb", redirect_explicit=True,
                              scopes=("mcp",), state="s", code_challenge="ch", resource=None,
                              issuer="http://127.0.0.1:8787")


def test_wait_token_round_trip_and_tamper() -> None:
    signer = ConsentSigner(b"a" * 32)
    token = signer.wait_token("abc123")
    assert signer.approval_id(token) == "abc123"
    for forged in (ConsentSigner(b"b" * 32).wait_token("abc123"), "other." + token.split(".", 1)[1],
                   token[:-3] + "AAA", "not-a-token", ".", ""):
        with pytest.raises(BadConsentRequestError):
            signer.approval_id(forged)


def test_request_keeps_what_the_token_endpoint_needs() -> None:
    stored = _request().as_dict()
    assert stored["code_challenge"] == "ch" and stored["issuer"] == "http://127.0.0.1:8787"


@pytest.mark.parametrize(("resource", "ours"), [
    ("http://127.0.0.1:8787", True), ("http://localhost:8787/", True), ("http://localhost:8787/mcp", True),
    ("http://127.0.0.1:8787/sse/", True), ("http://[::1]:8787/mcp", True),
    ("http://localhost:8788/mcp", False), ("https://other.example/mcp", False), ("http://localhost:8787/x", False),
    ("http://evil.example:8787/mcp", False), ("http://localhost:8787/mcp?x=1", False), ("", False), (None, False),
])
def test_resource_names_us(resource: str | None, ours: bool) -> None:
    assert ServerIdentity(8787).names_us(resource) is ours
