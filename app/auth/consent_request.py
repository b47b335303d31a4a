"""A pending authorization request, carried in the consent URL and signed with a key from the keyring.

Signing (HMAC-SHA256) instead of server-side state means a consent page stays valid across a
restart of the server, and nobody can change what the page asks for without the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import asdict, dataclass

CONSENT_TTL = 600.0  # seconds a consent page can be answered


class BadConsentRequestError(Exception):
    """The consent request is forged, damaged or too old."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class ConsentRequest:
    """What the user is asked to approve, and what is needed to finish the flow."""

    client_id: str
    redirect_uri: str
    redirect_explicit: bool
    scopes: tuple[str, ...]
    state: str | None
    code_challenge: str
    resource: str | None
    issuer: str
    nonce: str
    created_at: float
    remote: bool = False  # asked through the public URL (remote access), not on loopback

    @classmethod
    def new(
        cls,
        *,
        client_id: str,
        redirect_uri: str,
        redirect_explicit: bool,
        scopes: tuple[str, ...],
        state: str | None,
        code_challenge: str,
        resource: str | None,
        issuer: str,
        remote: bool = False,
    ) -> ConsentRequest:
        """A fresh request with a random nonce (the key of its one allowed answer)."""
        return cls(
            client_id, redirect_uri, redirect_explicit, scopes, state, code_challenge, resource, issuer,
            secrets.token_urlsafe(16), time.time(), remote,
        )


class ConsentSigner:
    """Signs and verifies consent requests and the CSRF token of their form."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.new(self._key, purpose.encode() + b"\0" + data, hashlib.sha256).digest()

    def sign(self, request: ConsentRequest) -> str:
        """The URL-safe text that stands for this request."""
        body = json.dumps(asdict(request), separators=(",", ":")).encode()
        return f"{_b64(body)}.{_b64(self._mac('consent', body))}"

    def verify(self, text: str, now: float | None = None) -> ConsentRequest:
        """The request behind `text`, or BadConsentRequestError."""
        try:
            body_text, mac_text = text.split(".", 1)
            body = _unb64(body_text)
            mac = _unb64(mac_text)
        except (ValueError, TypeError) as exc:
            raise BadConsentRequestError("the consent link is damaged") from exc
        if not hmac.compare_digest(mac, self._mac("consent", body)):
            raise BadConsentRequestError("the consent link is not one this server made (or the server's key changed)")
        try:
            raw = json.loads(body)
            raw["scopes"] = tuple(raw["scopes"])
            request = ConsentRequest(**raw)
        except (ValueError, TypeError, KeyError) as exc:
            raise BadConsentRequestError("the consent link is damaged") from exc
        if (now or time.time()) - request.created_at > CONSENT_TTL:
            raise BadConsentRequestError("this consent page has expired; start connecting again from your app")
        return request

    def csrf_token(self, request: ConsentRequest) -> str:
        """The form's anti-CSRF token, tied to this one pending request."""
        return _b64(self._mac("csrf", request.nonce.encode()))

    def check_csrf(self, request: ConsentRequest, token: str) -> bool:
        """True when `token` is this request's CSRF token."""
        return hmac.compare_digest(token.encode(), self.csrf_token(request).encode())
