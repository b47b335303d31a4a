"""Small signed values for cookies: a JSON object, an expiry, and an HMAC with the server's key.

Used by the OpenID Connect sign-in (its in-flight state, then the approver's short session): every
worker shares the consent-signing key, so any of them can check what another one set, and nothing
needs a table. Signed, not encrypted: what goes in is only ever sent back to this server, in an
HttpOnly cookie.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import time
from typing import Any

from app.auth.consent_request import ConsentSigner


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def seal(signer: ConsentSigner, purpose: str, payload: dict[str, Any], ttl: float) -> str:
    """`payload` with an expiry `ttl` seconds from now, signed for `purpose`."""
    body = _b64(json.dumps({**payload, "exp": time.time() + ttl}, separators=(",", ":")).encode())
    return f"{body}.{_b64(signer.mac(purpose, body.encode()))}"


def unseal(signer: ConsentSigner, purpose: str, text: str | None) -> dict[str, Any] | None:
    """The payload of a value `seal` made for `purpose`, unexpired; None for anything else."""
    if not text or text.count(".") != 1:
        return None
    body, _, mac_text = text.partition(".")
    try:
        mac = _unb64(mac_text)
        if not hmac.compare_digest(mac, signer.mac(purpose, body.encode())):
            return None
        payload = json.loads(_unb64(body))
    except (ValueError, binascii.Error):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("exp"), int | float):
        return None
    if payload["exp"] <= time.time():
        return None
    return payload
