"""Signed consent requests: tamper-proof, expiring, with a CSRF token tied to the one request."""

from __future__ import annotations

import dataclasses

import pytest

from app.auth.consent_request import CONSENT_TTL, BadConsentRequestError, ConsentRequest, ConsentSigner
from app.auth.origins import ServerIdentity


def _request() -> ConsentRequest:
    return ConsentRequest.new(client_id="c", redirect_uri="http://127.0.0.1:5/cb", redirect_explicit=True,
                              scopes=("mcp",), state="s", code_challenge="ch", resource=None,
                              issuer="http://127.0.0.1:8787")


def test_round_trip_and_tamper() -> None:
    signer = ConsentSigner(b"a" * 32)
    request = _request()
    text = signer.sign(request)
    assert signer.verify(text) == request
    forged = ConsentSigner(b"b" * 32).sign(dataclasses.replace(request, redirect_uri="https://evil.example/"))
    with pytest.raises(BadConsentRequestError):
        signer.verify(forged)
    with pytest.raises(BadConsentRequestError):
        signer.verify(text[:-3] + "AAA")
    with pytest.raises(BadConsentRequestError):
        signer.verify("not-a-request")


def test_expires() -> None:
    signer = ConsentSigner(b"a" * 32)
    request = _request()
    with pytest.raises(BadConsentRequestError, match="expired"):
        signer.verify(signer.sign(request), now=request.created_at + CONSENT_TTL + 1)


def test_csrf_token_is_per_request() -> None:
    signer = ConsentSigner(b"a" * 32)
    one, two = _request(), _request()
    assert signer.check_csrf(one, signer.csrf_token(one))
    assert not signer.check_csrf(one, signer.csrf_token(two))


@pytest.mark.parametrize(("resource", "ours"), [
    ("http://127.0.0.1:8787", True), ("http://localhost:8787/", True), ("http://localhost:8787/mcp", True),
    ("http://127.0.0.1:8787/sse/", True), ("http://[::1]:8787/mcp", True),
    ("http://localhost:8788/mcp", False), ("https://other.example/mcp", False), ("http://localhost:8787/x", False),
    ("http://evil.example:8787/mcp", False), ("http://localhost:8787/mcp?x=1", False), ("", False), (None, False),
])
def test_resource_names_us(resource: str | None, ours: bool) -> None:
    assert ServerIdentity(8787).names_us(resource) is ours
