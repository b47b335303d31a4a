"""An authorization request waiting for the owner, and the signed link of its waiting page.

The request itself lives in the store (`approvals`); the waiting page's URL carries only its id,
signed (HMAC-SHA256) with a key from the keyring, so nobody can guess or forge another request's
page, and a page stays valid across a restart of the server.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any


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

    def as_dict(self) -> dict[str, Any]:
        """The request as stored with its approval."""
        return asdict(self)


class ConsentSigner:
    """Signs and checks the links of waiting pages."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, purpose: str, data: bytes) -> bytes:
        return hmac.new(self._key, purpose.encode() + b"\0" + data, hashlib.sha256).digest()

    def mac(self, purpose: str, data: bytes) -> bytes:
        """HMAC-SHA256 of `data` for one `purpose` (each purpose its own domain), with the server's key."""
        return self._mac(purpose, data)

    def wait_token(self, approval_id: str) -> str:
        """The URL-safe text that opens the waiting page of one request."""
        return f"{approval_id}.{_b64(self._mac('wait', approval_id.encode()))}"

    def approval_id(self, token: str) -> str:
        """The request id behind a waiting page's token, or BadConsentRequestError."""
        approval_id, _, mac_text = token.partition(".")
        try:
            mac = _unb64(mac_text)
        except (ValueError, TypeError) as exc:
            raise BadConsentRequestError("the sign-in link is damaged") from exc
        if not approval_id or not hmac.compare_digest(mac, self._mac("wait", approval_id.encode())):
            raise BadConsentRequestError("the sign-in link is not one this server made (or the server's key changed)")
        return approval_id
