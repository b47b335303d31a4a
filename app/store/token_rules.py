"""The token rules, each in one place: spending a code, rotating a refresh token, checking an access token.

Each rule returns what it found or a typed `Refused`, and applies its own consequence inside the
caller's transaction: a replayed code or a reused refresh token revokes the whole grant (RFC 6749
10.5, OAuth 2.1 4.3.1). The one exception is the retry window: the same client presenting the
refresh token it spent less than RETRY_WINDOW seconds ago gets the very pair that refresh minted
(its answer may have been lost), read from a box only that token opens (see `sealed`).

The OAuth provider and the bearer guard both call these through `Store`; neither judges a token itself.
Whether a token's resource fits the way a request came in is the caller's knowledge, passed as an
`Audience`: given the resource, the reason it does not fit, or None.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.store import activity
from app.store.hashing import hash_secret
from app.store.kinds import EventKind
from app.store.rows import CodeRow, IssuedTokens, TokenCheck
from app.store.sealed import SealedPair, seal, unseal
from app.store.sql import Conn, serialize

ACCESS_PREFIX = "mcpat_"
REFRESH_PREFIX = "mcprt_"
RETRY_WINDOW = 30.0  # seconds a spent refresh token still fetches the pair its refresh minted

Audience = Callable[[str | None], str | None]


def anywhere(resource: str | None) -> str | None:
    """An `Audience` that accepts every resource (the store's own callers, tests)."""
    return None


class Reason(StrEnum):
    """Why a code or token was refused."""

    UNKNOWN = "unknown"  # no such code or token (or not of the kind asked for)
    EXPIRED = "expired"
    REVOKED = "revoked"  # it, or its grant, was revoked (or the grant's lifetime ended)
    REPLAYED = "replayed"  # a spent code or refresh token came back: the grant is revoked now
    WRONG_CLIENT = "wrong_client"
    WRONG_RESOURCE = "wrong_resource"  # issued for another audience (RFC 8707)


@dataclass(frozen=True)
class Refused:
    """A refusal and, for WRONG_RESOURCE, the sentence saying which audience it was for."""

    reason: Reason
    detail: str = ""


def _id() -> str:
    return secrets.token_hex(4)


def _scopes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


# -- grants ------------------------------------------------------------------------------------


def revoke_grants(conn: Conn, where: str, args: tuple[Any, ...], reason: str, now: float) -> int:
    """Revoke the live grants matching `where` and every token they issued; returns how many."""
    grants = conn.execute(
        f"SELECT grant_id, client_id FROM grants WHERE revoked_at IS NULL AND {where}", args  # noqa: S608
    ).fetchall()
    changed = 0
    for grant in grants:
        # Conditional: of two revocations racing on PostgreSQL, one changes the grant and logs it.
        if conn.execute("UPDATE grants SET revoked_at = ?, revoke_reason = ? WHERE grant_id = ? AND revoked_at IS NULL",
                        (now, reason, grant["grant_id"])).rowcount == 0:
            continue
        conn.execute("UPDATE tokens SET revoked_at = ? WHERE grant_id = ? AND revoked_at IS NULL",
                     (now, grant["grant_id"]))
        activity.record(conn, EventKind.REVOKED, grant["client_id"], reason)
        changed += 1
    return changed


def _replayed(conn: Conn, grant_id: str, client_id: str, what: str, kind: EventKind, now: float) -> Refused:
    """A spent secret came back: whoever holds it is not (only) the client that spent it."""
    if revoke_grants(conn, "grant_id = ?", (grant_id,), f"{what} replayed", now):
        activity.record(conn, kind, client_id, "grant revoked")
    return Refused(Reason.REPLAYED)


def mint(conn: Conn, grant_id: str, client_id: str, scopes: Sequence[str], resource: str | None,
         access_ttl: int, refresh_ttl: int, now: float) -> IssuedTokens:
    """A new access and refresh token of a grant; neither outlives a grant given for a while."""
    access = ACCESS_PREFIX + secrets.token_urlsafe(32)
    refresh = REFRESH_PREFIX + secrets.token_urlsafe(32)
    grant_end = conn.execute("SELECT expires_at FROM grants WHERE grant_id = ?", (grant_id,)).fetchone()["expires_at"]
    ends = {kind: now + ttl if grant_end is None else min(now + ttl, grant_end)
            for kind, ttl in (("access", access_ttl), ("refresh", refresh_ttl))}
    for kind, value in (("access", access), ("refresh", refresh)):
        conn.execute(
            "INSERT INTO tokens (token_id, token_hash, kind, grant_id, client_id, scopes, resource,"
            " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (_id(), hash_secret(value), kind, grant_id, client_id, " ".join(scopes), resource, now, ends[kind]),
        )
    return IssuedTokens(access, refresh, max(0, int(ends["access"] - now)), tuple(scopes))


# -- authorization codes -------------------------------------------------------------------------

CODE_QUERY = """SELECT c.code_hash, c.grant_id, c.client_id, c.code_challenge, c.redirect_uri, c.redirect_explicit,
                  c.expires_at, c.used_at, g.scopes, g.resource, g.revoked_at AS grant_revoked_at
           FROM codes c JOIN grants g ON g.grant_id = c.grant_id WHERE c.code_hash = ?"""


def code_row(r: Any) -> CodeRow:
    return CodeRow(r["code_hash"], r["grant_id"], r["client_id"], r["code_challenge"], r["redirect_uri"],
                   bool(r["redirect_explicit"]), r["expires_at"], r["used_at"], _scopes(r["scopes"]), r["resource"],
                   r["grant_revoked_at"] is not None)


def find_code(conn: Conn, code_hash: str, client_id: str | None, audience: Audience,
              now: float) -> CodeRow | Refused:
    """A code this client may spend here; a spent one revokes its grant. Expiry is judged when it is spent."""
    r = conn.execute(CODE_QUERY, (code_hash,)).fetchone()
    if r is None:
        return Refused(Reason.UNKNOWN)
    if client_id is not None and r["client_id"] != client_id:
        return Refused(Reason.WRONG_CLIENT)
    problem = audience(r["resource"])
    if problem is not None:
        return Refused(Reason.WRONG_RESOURCE, problem)
    if r["used_at"] is not None:
        return _replayed(conn, r["grant_id"], r["client_id"], "authorization code", EventKind.CODE_REPLAYED, now)
    if r["grant_revoked_at"] is not None:
        return Refused(Reason.REVOKED)
    return code_row(r)


def redeem_code(conn: Conn, code_hash: str, client_id: str | None, access_ttl: int, refresh_ttl: int,
                now: float) -> IssuedTokens | Refused:
    """Spend a code once for the grant's first pair."""
    serialize(conn, "code", code_hash)
    found = find_code(conn, code_hash, client_id, anywhere, now)
    if isinstance(found, Refused):
        return found
    if found.expires_at <= now:
        return Refused(Reason.EXPIRED)
    conn.execute("UPDATE codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL", (now, code_hash))
    return mint(conn, found.grant_id, found.client_id, found.scopes, found.resource, access_ttl, refresh_ttl, now)


# -- tokens --------------------------------------------------------------------------------------

_TOKEN = """SELECT t.token_id, t.token_hash, t.kind, t.grant_id, t.client_id, t.scopes, t.resource, t.expires_at,
                   t.last_used_at, t.rotated_at, t.revoked_at, g.remote, g.expires_at AS grant_expires_at,
                   (t.revoked_at IS NOT NULL OR g.revoked_at IS NOT NULL
                    OR (g.expires_at IS NOT NULL AND g.expires_at <= ?)) AS revoked,
                   (g.revoked_at IS NOT NULL OR (g.expires_at IS NOT NULL AND g.expires_at <= ?)) AS grant_ended
            FROM tokens t JOIN grants g ON g.grant_id = t.grant_id WHERE t.token_hash = ?"""


def _lookup(conn: Conn, token_hash: str, now: float) -> Any:
    row: Any = conn.execute(_TOKEN, (now, now, token_hash)).fetchone()
    return row


def _check(r: Any) -> TokenCheck:
    return TokenCheck(r["token_id"], r["token_hash"], r["kind"], r["grant_id"], r["client_id"], _scopes(r["scopes"]),
                      r["resource"], r["expires_at"], r["last_used_at"], r["rotated_at"], bool(r["revoked"]),
                      bool(r["remote"]))


def look_up(conn: Conn, token: str, now: float) -> TokenCheck | None:
    """A presented token of either kind, judged by nobody (for the owner's tools and tests)."""
    r = _lookup(conn, hash_secret(token), now)
    return None if r is None else _check(r)


def _for_audience(r: Any, audience: Audience) -> TokenCheck | Refused:
    """The token's check, unless it was issued for another way in (RFC 8707)."""
    problem = audience(r["resource"])
    return Refused(Reason.WRONG_RESOURCE, problem) if problem is not None else _check(r)


def check_access(conn: Conn, token: str, audience: Audience, now: float) -> TokenCheck | Refused:
    """An access token that may be used here now (read only: one indexed lookup)."""
    return judge_access(_lookup(conn, hash_secret(token), now), audience, now)


def access_row(conn: Conn, token_hash: str, now: float) -> Any:
    """The row `judge_access` judges (None: no such token)."""
    return _lookup(conn, token_hash, now)


def row_settled_until(r: Any) -> float:
    """Until when a looked-up row says the same, unless the database changes: its token's or grant's end."""
    grant_end = r["grant_expires_at"]
    return float(r["expires_at"]) if grant_end is None else min(float(r["expires_at"]), float(grant_end))


def judge_access(r: Any, audience: Audience, now: float) -> TokenCheck | Refused:
    """The access-token rule over a looked-up row (see check_access)."""
    if r is None or r["kind"] != "access":
        return Refused(Reason.UNKNOWN)
    if r["revoked"]:
        return Refused(Reason.REVOKED)
    if r["expires_at"] <= now:
        return Refused(Reason.EXPIRED)
    return _for_audience(r, audience)


def check_refresh(conn: Conn, token: str, client_id: str, audience: Audience,
                  now: float) -> TokenCheck | Refused:
    """A refresh token this client may spend here, or retry within its window; reuse revokes the grant.

    A spent token presented by another client, or after the window, is a reuse. A live token
    presented by another client is only refused: it proves nothing was stolen from its owner.
    """
    r = _lookup(conn, hash_secret(token), now)
    if r is None or r["kind"] != "refresh":
        return Refused(Reason.UNKNOWN)
    if r["rotated_at"] is not None:
        if r["client_id"] != client_id or now - r["rotated_at"] > RETRY_WINDOW:
            return _replayed(conn, r["grant_id"], r["client_id"], "refresh token", EventKind.REFRESH_REUSED, now)
        if r["grant_ended"]:
            return Refused(Reason.REVOKED)
    elif r["client_id"] != client_id:
        return Refused(Reason.WRONG_CLIENT)
    elif r["revoked"]:
        return Refused(Reason.REVOKED)
    elif r["expires_at"] <= now:
        return Refused(Reason.EXPIRED)
    return _for_audience(r, audience)


def rotate_refresh(conn: Conn, token: str, client_id: str, audience: Audience, scopes: Sequence[str],
                   access_ttl: int, refresh_ttl: int, now: float) -> IssuedTokens | Refused:
    """Spend a refresh token for a new pair, or hand a retry within the window the pair it already got.

    Run inside one write transaction, so of any number of concurrent refreshes exactly one mints (on
    PostgreSQL the token's advisory lock makes them take turns; each then sees the one before).
    """
    serialize(conn, "refresh", hash_secret(token))
    found = check_refresh(conn, token, client_id, audience, now)
    if isinstance(found, Refused):
        return found
    if found.rotated_at is not None:
        return _retry(conn, token, found, now)
    issued = mint(conn, found.grant_id, found.client_id, scopes, found.resource, access_ttl, refresh_ttl, now)
    box = seal(token, found.token_hash, SealedPair(issued.access_token, issued.refresh_token,
                                                   now + issued.access_expires_in, issued.scopes))
    conn.execute("UPDATE tokens SET rotated_at = ?, revoked_at = ?, retry_box = ? WHERE token_hash = ?",
                 (now, now, box, found.token_hash))
    activity.record(conn, EventKind.REFRESHED, found.client_id, "")
    return issued


def _retry(conn: Conn, token: str, spent: TokenCheck, now: float) -> IssuedTokens | Refused:
    """The pair a refresh within the window minted, while that pair is itself unused and live."""
    row = conn.execute("SELECT retry_box FROM tokens WHERE token_hash = ?", (spent.token_hash,)).fetchone()
    pair = unseal(token, spent.token_hash, bytes(row["retry_box"])) if row["retry_box"] is not None else None
    successor = None if pair is None else _lookup(conn, hash_secret(pair.refresh_token), now)
    if pair is None or successor is None or successor["rotated_at"] is not None:
        # The new refresh token was spent already: the answer was not lost, so this is a replay.
        return _replayed(conn, spent.grant_id, spent.client_id, "refresh token", EventKind.REFRESH_REUSED, now)
    if successor["revoked"]:
        return Refused(Reason.REVOKED)
    return IssuedTokens(pair.access_token, pair.refresh_token, max(0, int(pair.access_expires_at - now)), pair.scopes)
