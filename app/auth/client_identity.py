"""Who a client is, in words the owner can judge before approving it (MCP 2025-11-25, CIMD draft 8).

A client known by its metadata document is *verified*: its name comes from a document served at
its https client_id, so the host of that URL vouches for it. A client that registered itself
(RFC 7591) chose its own name; nothing checks it. A verified client whose redirect URIs are all on
this computer can still be impersonated by any local program (the MCP spec's "Localhost Redirect
URI Risks": such servers SHOULD warn), so that case gets a warning.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.auth.cimd import DOCUMENT_MARKER, host_of, looks_like_document_url
from app.auth.origins import is_loopback_url

UNVERIFIED_LABEL = "unverified: this name was chosen by the program itself"


@dataclass(frozen=True)
class ClientIdentity:
    """What the approval shows about a client: its name, whether that is verified, and any warning."""

    name: str
    verified: bool
    label: str
    warning: str | None = None


def is_document_client(client_id: str, info: Mapping[str, Any]) -> bool:
    """True for a client whose record came from its Client ID Metadata Document."""
    return looks_like_document_url(client_id) and isinstance(info.get(DOCUMENT_MARKER), dict)


def describe_client(client_id: str, info: Mapping[str, Any]) -> ClientIdentity:
    """The identity to show for `client_id`, whose stored record is `info`."""
    raw_name = info.get("client_name")
    name = raw_name.strip() if isinstance(raw_name, str) and raw_name.strip() else ""
    if not is_document_client(client_id, info):
        return ClientIdentity(name or "An unnamed app", verified=False, label=UNVERIFIED_LABEL)
    host = host_of(client_id)
    name = name or host
    uris = info.get("redirect_uris")
    redirects = [u for u in uris if isinstance(u, str)] if isinstance(uris, list) else []
    warning = None
    if redirects and all(is_loopback_url(u) for u in redirects):
        warning = (
            f"{host} vouches for {name}, but its sign-in answer goes to a program on this computer, "
            f"and any program on this computer can claim to be {name} the same way. Allow only if "
            f"you started connecting {name} yourself just now."
        )
    return ClientIdentity(name, verified=True, label=f"verified: {host}", warning=warning)
