"""Revoke everything: every sign-in, every call waiting for the owner, every standing "allow" answer.

The running server notices the revocations within a quarter second (its revocation watcher) and
closes every stream; the tray's "Revoke everything and stop" and `mcp-tray panic` then stop it.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.store.kinds import EventKind
from app.store.store import Store
from app.wording import plural

REASON = "revoke everything (panic)"
STREAMS_GRACE = 1.0  # seconds the server gets to close the revoked streams before it is stopped


@dataclass(frozen=True)
class PanicResult:
    """What was revoked."""

    grants: int
    held_calls: int
    allowances: int
    sign_in_requests: int = 0

    def summary(self) -> str:
        """One sentence for the owner."""
        return (f"Revoked {plural(self.grants, 'sign-in')}, denied {plural(self.held_calls, 'waiting call')} and "
                f"{self.sign_in_requests} waiting sign-in request(s), and dropped "
                f"{self.allowances} standing permission(s).")


def revoke_everything(store: Store) -> PanicResult:
    """Revoke every grant, deny every waiting call and sign-in request, forget every standing answer."""
    grants = store.revoke_all(REASON)
    held = sum(1 for call in store.held.pending() if store.held.answer(call.call_id, False, by="panic"))
    allowances = store.held.forget_allowances()
    requests = sum(1 for a in store.approvals.waiting()
                   if store.approvals.answer(a.approval_id, approve=False, approver="panic") is not None)
    store.log_event(EventKind.PANIC, None, "every sign-in revoked; the server is being stopped")
    return PanicResult(grants, held, allowances, requests)
