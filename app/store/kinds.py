"""The kinds of rows the store writes: activity events and tokens. StrEnums, so the stored text stays the same."""

from __future__ import annotations

import enum


class EventKind(enum.StrEnum):
    """What an activity row (Recent activity, `mcp-tray events`) records."""

    REGISTERED = "registered"
    CLIENT_UPDATED = "client updated"
    CLIENT_REMOVED = "client removed"
    SIGN_IN_REQUESTED = "sign-in requested"
    AUTHORIZED = "authorized"
    DENIED = "denied"
    REFRESHED = "refreshed"
    REVOKED = "revoked"
    CODE_REPLAYED = "code replayed"
    REFRESH_REUSED = "refresh reused"
    SCOPE_EXTENDED = "scope extended"
    PANIC = "panic"
    BAD_CLIENT_DOCUMENT = "bad client document"
    UNKNOWN_CLIENT = "unknown client"
    BAD_REDIRECT = "bad redirect"
    REFUSED_REDIRECT = "refused redirect"
    SIGN_INS_LIMITED = "sign-in requests limited"
    REMOTE_ACCESS = "remote access"
    REMOTE_SIGN_IN = "remote sign-in"
    REMOTE_REQUEST = "remote request"
    REMOTE_REFUSED = "remote refused"
    PASSKEY_ENROLMENT = "passkey enrolment started"
    PASSKEY_ADDED = "passkey added"
    PASSKEY_REMOVED = "passkey removed"
    PASSKEY_REFUSED = "passkey refused"
    OIDC_REFUSED = "oidc refused"


class TokenKind(enum.StrEnum):
    """The two tokens of a sign-in."""

    ACCESS = "access"
    REFRESH = "refresh"
