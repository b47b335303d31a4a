"""Plain typed rows the store hands out; nothing here touches SQLite or Qt."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ClientRow:
    """A registered OAuth client (RFC 7591)."""

    client_id: str
    client_name: str
    redirect_uris: tuple[str, ...]
    created_at: float
    active_tokens: int


@dataclass(frozen=True)
class ClientGroup:
    """Clients that share a name and redirect URIs: one app that registered several times."""

    client_name: str
    redirect_uris: tuple[str, ...]
    client_ids: tuple[str, ...]
    latest_created_at: float
    active_tokens: int


@dataclass(frozen=True)
class TokenRow:
    """One access or refresh token, as the user sees it (never the token itself)."""

    token_id: str
    kind: str
    grant_id: str
    client_id: str
    client_name: str
    scopes: tuple[str, ...]
    resource: str | None
    created_at: float
    expires_at: float
    last_used_at: float | None
    revoked_at: float | None
    remote: bool = False  # its grant was made through the public URL


@dataclass(frozen=True)
class TokenCheck:
    """What the bearer check needs about a presented token."""

    token_id: str
    token_hash: str
    kind: str
    grant_id: str
    client_id: str
    scopes: tuple[str, ...]
    resource: str | None
    expires_at: float
    last_used_at: float | None
    rotated_at: float | None
    revoked: bool
    remote: bool = False


@dataclass(frozen=True)
class CodeRow:
    """A stored authorization code (hash only)."""

    code_hash: str
    grant_id: str
    client_id: str
    code_challenge: str
    redirect_uri: str
    redirect_explicit: bool
    expires_at: float
    used_at: float | None
    scopes: tuple[str, ...]
    resource: str | None
    grant_revoked: bool


@dataclass(frozen=True)
class EventRow:
    """One line of recent activity."""

    id: int
    at: float
    kind: str
    client_id: str | None
    client_name: str | None
    detail: str


@dataclass(frozen=True)
class IssuedTokens:
    """Tokens just minted: the only moment the raw values exist."""

    access_token: str
    refresh_token: str
    access_expires_in: int
    scopes: tuple[str, ...]
