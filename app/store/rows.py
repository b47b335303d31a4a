"""Plain typed rows the store hands out; nothing here touches SQLite or Qt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class ClientRow:
    """A registered OAuth client (RFC 7591)."""

    client_id: str
    client_name: str
    redirect_uris: tuple[str, ...]
    created_at: float
    active_tokens: int
    verified: bool = False  # identified by a metadata document fetched from its client_id URL


@dataclass(frozen=True)
class ClientGroup:
    """Clients that share a name and redirect URIs: one app that registered several times."""

    client_name: str
    redirect_uris: tuple[str, ...]
    client_ids: tuple[str, ...]
    latest_created_at: float
    active_tokens: int
    verified: bool = False  # every member is a metadata-document client

    @staticmethod
    def of(rows: Iterable[ClientRow]) -> list[ClientGroup]:
        """Clients grouped by name and redirect URIs, so re-registrations show as one app.

        A verified client never shares a group with registered ones of the same name: that is
        exactly what an impersonator would look like.
        """
        groups: dict[tuple[str, tuple[str, ...], bool], list[ClientRow]] = {}
        for row in rows:
            groups.setdefault((row.client_name, row.redirect_uris, row.verified), []).append(row)
        return [
            ClientGroup(
                client_name=name,
                redirect_uris=uris,
                client_ids=tuple(r.client_id for r in members),
                latest_created_at=max(r.created_at for r in members),
                active_tokens=sum(r.active_tokens for r in members),
                verified=verified,
            )
            for (name, uris, verified), members in groups.items()
        ]


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
    approver: str | None = None  # who approved its grant: cli, tray, passkey:NAME, oidc:EMAIL


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


@dataclass(frozen=True)
class PendingApproval:
    """A sign-in request waiting for the owner's answer (or its answer, once given)."""

    approval_id: str
    match_code: str
    client_id: str
    client_name: str
    client_info: dict[str, object]
    request: dict[str, object]
    scopes: tuple[str, ...]
    redirect_uri: str
    listener: str
    created_at: float
    expires_at: float
    status: str
    answered_at: float | None
    approver: str | None
    granted_scopes: tuple[str, ...]
    grant_lifetime: float | None


@dataclass(frozen=True)
class Delivery:
    """What the waiting page sends the browser on to: a fresh code, or the owner's refusal."""

    status: str  # "approved" (code is set), "denied", "expired", "delivered" (sent before), "pending"
    approval: PendingApproval
    code: str | None = None
