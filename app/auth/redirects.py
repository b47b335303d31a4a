"""Which redirect URIs a client may register (OAuth 2.1 2.3.1, RFC 8252 7, RFC 9700 4.1).

Shared by dynamic registration (RFC 7591) and metadata documents, so both follow one rule.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from app.auth.origins import LOOPBACK_HOSTS

FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "file", "vbscript", "about", "blob", "ftp", "ws", "wss"})


def check_redirect_uri(uri: str) -> str | None:
    """Why a redirect URI cannot be registered, or None if it can (OAuth 2.1 2.3.1, RFC 8252 7)."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "is not a valid URI"
    scheme = parts.scheme.lower()
    if parts.fragment:
        return "must not contain a fragment"
    if scheme == "https":
        return None if parts.hostname else "has no host"
    if scheme == "http":
        if (parts.hostname or "") in LOOPBACK_HOSTS:
            return None
        return "uses http on a host that is not loopback; use https or localhost/127.0.0.1"
    if not scheme or scheme in FORBIDDEN_SCHEMES:
        return f"uses the scheme '{scheme}', which is not allowed"
    return None  # a private-use scheme of a native app (RFC 8252 7.1), e.g. cursor://
