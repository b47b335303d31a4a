"""Whose grants are whose: a grant approved after an OpenID Connect sign-in carries `oidc:EMAIL`.

Each person sees (and may revoke) the grants they approved; an admin and the owner's CLI see all.
"""

from __future__ import annotations

from app.store.rows import TokenRow
from app.store.store import Store

PREFIX = "oidc:"


def approver_label(email: str) -> str:
    """What an approval and its grant record for a person who signed in: `oidc:alice@example.com`."""
    return PREFIX + email.strip().lower()


def tokens_of(store: Store, email: str | None, include_inactive: bool = False) -> list[TokenRow]:
    """The tokens of the grants `email` approved (every token when `email` is None), newest first."""
    tokens = store.list_tokens(include_inactive=include_inactive)
    if email is None:
        return tokens
    label = approver_label(email)
    return [t for t in tokens if (t.approver or "").lower() == label]


def grants(tokens: list[TokenRow]) -> list[TokenRow]:
    """One row per grant (its newest token), keeping the order."""
    seen: set[str] = set()
    out: list[TokenRow] = []
    for token in tokens:
        if token.grant_id not in seen:
            seen.add(token.grant_id)
            out.append(token)
    return out
