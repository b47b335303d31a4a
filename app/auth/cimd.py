"""Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25): the rules.

A client may use an https URL as its `client_id`; the URL serves a JSON document with its
metadata. This module holds the parts that need no network: which client_ids are such URLs, the
URL rules (draft section 3), which addresses we refuse to fetch from (section 8.6, SSRF), how long
a document may be cached (section 5.2, RFC 9111), and the checks on the document itself (section 4:
`client_id` equal to the URL, no shared secrets, redirect URIs we accept). `cimd_fetch.py` does
the fetching.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from app.auth.redirects import check_redirect_uri
from app.auth.scopes import SUPPORTED_SCOPES

if TYPE_CHECKING:
    from mcp.shared.auth import OAuthClientInformationFull

# The key in a client's stored record (info_json) that marks it as a metadata-document client.
DOCUMENT_MARKER = "mcp_tray_metadata_document"

MAX_URL_LENGTH = 2048
MAX_NAME_LENGTH = 100
MIN_TTL = 60.0  # seconds: a document asking for less is still kept this long (no refetch storms)
MAX_TTL = 24 * 3600.0  # seconds: a document asking for more is fetched again after a day
DEFAULT_TTL = 300.0  # seconds: a document that says nothing about caching

# Methods based on a shared secret cannot work: no secret was ever exchanged (draft 4.1).
SHARED_SECRET_METHODS = frozenset({"client_secret_post", "client_secret_basic", "client_secret_jwt"})
SUPPORTED_GRANTS = frozenset({"authorization_code", "refresh_token"})

CimdErrorCode = Literal["invalid_url", "refused_address", "fetch_failed", "invalid_document"]


class CimdError(Exception):
    """Why a client_id URL or its document cannot be used; `message` is plain words for a person."""

    def __init__(self, code: CimdErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def looks_like_document_url(client_id: str) -> bool:
    """True for a client_id that is meant as a metadata-document URL (http or https).

    Our own registrations get random ids that never contain "://", so the two kinds cannot be
    confused (draft 7.1). An http URL counts too, so it gets a clear refusal, not "unknown app".
    """
    return bool(re.match(r"(?i)https?://", client_id))


def check_client_id_url(url: str) -> str | None:
    """Why `url` cannot be a client identifier URL (draft section 3), or None if it can."""
    if len(url) > MAX_URL_LENGTH:
        return f"is longer than {MAX_URL_LENGTH} characters"
    if url != url.strip() or any(c.isspace() or ord(c) < 0x20 for c in url):
        return "contains spaces or control characters"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "is not a valid URL"
    if parts.scheme != "https":
        return "must use https (an http address could be read or changed on the way)"
    if not parts.hostname:
        return "has no host"
    if parts.username is not None or parts.password is not None:
        return "must not contain a user name or password"
    if port == 0:
        return "uses port 0"
    if "#" in url:
        return "must not contain a fragment (#...)"
    if parts.path in ("", "/"):
        return "must have a path after the host, such as /client.json"
    segments = parts.path.split("/")
    if any(s.lower() in (".", "..", "%2e", "%2e%2e", ".%2e", "%2e.") for s in segments):
        return "must not contain . or .. path segments"
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address stands for (mapped, 6to4, Teredo, NAT64), if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in ipaddress.IPv6Network("64:ff9b::/96"):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def address_problem(address: str) -> str | None:
    """Why we refuse to connect to `address` (SSRF, draft 8.6), or None for a public address."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return "is not an IP address"
    if isinstance(ip, ipaddress.IPv6Address):
        inner = _embedded_ipv4(ip)
        if inner is not None:
            problem = address_problem(str(inner))
            if problem:
                return f"stands for the IPv4 address {inner}, which {problem.removeprefix('is ')}"
    if ip.is_loopback:
        return "is a loopback address (this computer)"
    if ip.is_link_local:
        return "is a link-local address"
    if ip.is_multicast:
        return "is a multicast address"
    if ip.is_unspecified:
        return "is the unspecified address"
    if ip.is_reserved:
        return "is a reserved address"
    if ip.is_private or not ip.is_global:
        return "is a private or internal address"
    return None


def cache_lifetime(cache_control: str | None) -> float:
    """Seconds a fetched document may be reused, from its Cache-Control header (RFC 9111 5.2.2).

    `no-store` and `no-cache` mean "do not reuse" (0); a `max-age` is kept within
    MIN_TTL..MAX_TTL; no header (or nothing we understand) means DEFAULT_TTL.
    """
    if not cache_control:
        return DEFAULT_TTL
    max_age: float | None = None
    for raw in cache_control.split(","):
        name, _, value = raw.strip().partition("=")
        name = name.strip().lower()
        if name in ("no-store", "no-cache"):
            return 0.0
        if name == "max-age":
            try:
                max_age = float(int(value.strip().strip('"')))
            except ValueError:
                return 0.0  # RFC 9111 4.2.1: an invalid max-age means stale
    if max_age is None:
        return DEFAULT_TTL
    return min(MAX_TTL, max(MIN_TTL, max_age))


def host_of(url: str) -> str:
    """The host a person should see for a client_id URL: `claude.ai`, or `example.com:8443`."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    shown = f"[{host}]" if ":" in host else host
    return f"{shown}:{parts.port}" if parts.port not in (None, 443) else shown


def _string_list(doc: Mapping[str, Any], key: str) -> list[str] | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CimdError("invalid_document", f"`{key}` must be a list of strings")
    return list(value)


def validate_document(url: str, body: bytes) -> OAuthClientInformationFull:
    """The client described by a fetched document, or CimdError saying what is wrong with it."""
    try:
        doc: Any = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CimdError("invalid_document", "the document is not valid JSON") from None
    if not isinstance(doc, dict):
        raise CimdError("invalid_document", "the document is not a JSON object")
    if doc.get("client_id") != url:
        shown = doc.get("client_id")
        said = f"says {str(shown)[:120]!r}" if shown is not None else "has no client_id"
        raise CimdError("invalid_document", f"the document's client_id must be exactly {url}, but it {said}")
    for secret in ("client_secret", "client_secret_expires_at"):
        if secret in doc:
            raise CimdError("invalid_document", f"the document must not contain `{secret}` (it is public)")
    method = doc.get("token_endpoint_auth_method", "none")
    if method in SHARED_SECRET_METHODS:
        raise CimdError("invalid_document", f"token_endpoint_auth_method {method} needs a shared secret, "
                        "which a public document cannot have; use none")
    if method != "none":
        raise CimdError("invalid_document", f"token_endpoint_auth_method {str(method)[:40]} is not supported "
                        "here; use none")
    uris = _string_list(doc, "redirect_uris")
    if not uris:
        raise CimdError("invalid_document", "the document lists no redirect_uris")
    for uri in uris:
        problem = check_redirect_uri(uri)
        if problem:
            raise CimdError("invalid_document", f"redirect_uri {uri[:200]} {problem}")
    grants = _string_list(doc, "grant_types") or ["authorization_code"]
    if "authorization_code" not in grants or not set(grants) <= SUPPORTED_GRANTS:
        raise CimdError("invalid_document", "grant_types must include authorization_code and may add "
                        "only refresh_token")
    responses = _string_list(doc, "response_types") or ["code"]
    if responses != ["code"]:
        raise CimdError("invalid_document", 'response_types must be ["code"]')
    name = doc.get("client_name")
    if name is not None and not isinstance(name, str):
        raise CimdError("invalid_document", "client_name must be a string")
    scope = doc.get("scope")
    if scope is not None and not isinstance(scope, str):
        raise CimdError("invalid_document", "scope must be a string")
    # A document is written for every server the client talks to: scopes we do not know are
    # dropped rather than refused.
    known = [s for s in (scope or "").split() if s in SUPPORTED_SCOPES]
    record = {
        "client_id": url,
        "client_name": (name or "").strip()[:MAX_NAME_LENGTH] or host_of(url),
        "redirect_uris": uris,
        "grant_types": grants,
        "response_types": responses,
        "token_endpoint_auth_method": "none",
        "scope": " ".join(known) or None,
        **{k: doc[k] for k in ("client_uri", "logo_uri", "software_id", "software_version")
           if isinstance(doc.get(k), str)},
    }
    # Here, not at the top: the command line reads this module's helpers, and `mcp` takes a second to import.
    from mcp.shared.auth import OAuthClientInformationFull
    from pydantic import ValidationError

    try:
        return OAuthClientInformationFull.model_validate(record)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise CimdError("invalid_document", f"`{where}` is not valid: {first.get('msg', 'bad value')}") from None
