"""Revoke everything: every sign-in, every call waiting for the owner, every standing "allow" answer.

The running server notices the revocations within a quarter second (its revocation watcher) and
closes every stream; the tray's "Revoke everything and stop" and `mcp-tray panic` then stop it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.store.store import Store

REASON = "revoke everything (panic)"
STREAMS_GRACE = 1.0  # seconds the server gets to close the revoked streams before it is stopped


@dataclass(frozen=True)
class PanicResult:
    """What was revoked."""

    grants: int
    held_calls: int
    allowances: int

    def summary(self) -> str:
        """One sentence for the owner."""
        return (f"Revoked {self.grants} sign-in(s), denied {self.held_calls} waiting call(s) and dropped "
                f"{self.allowances} standing permission(s).")


def revoke_everything(store: Store) -> PanicResult:
    """Revoke every grant, deny every waiting call, forget every standing answer."""
    grants = store.revoke_all(REASON)
    held = sum(1 for call in store.held.pending() if store.held.answer(call.call_id, False, by="panic"))
    allowances = store.held.forget_allowances()
    store.log_event("panic", None, "every sign-in revoked; the server is being stopped")
    return PanicResult(grants, held, allowances)
