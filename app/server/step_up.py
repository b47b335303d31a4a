"""Step-up authorization (MCP 2025-11-25): a tools/call for a tool whose group the token lacks gets
HTTP 403 with `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` instead of a silent miss.

BearerGuard asks `StepUp.challenge(body, caller)` for each POST to /mcp. Only a body that names
tools/call is parsed; everything else goes straight through. The refusal is audited ("refused
scope") and reported to the owner, who may extend the sign-in (the tray's offer, or
`mcp-tray tokens extend`); the client's next request then carries the new scope.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from app.auth.caller import CallerToken
from app.server.redact import summarize
from app.store import audit
from app.tools.groups import ALL_SCOPES, GROUPS, allowed
from app.tools.registry import ToolRegistry

Record = Callable[[audit.AuditEntry], None]
Refused = Callable[[CallerToken | None, str, str], None]  # caller, tool, group


class StepUp:
    """Decides whether a request must be answered with an insufficient_scope challenge."""

    def __init__(self, registry: ToolRegistry, record: Record, refused: Refused) -> None:
        self.registry = registry
        self.record = record
        self.refused = refused

    def challenge(self, body: bytes, caller: CallerToken) -> str | None:
        """The scopes to name in a 403 challenge for this request, or None to let it through."""
        if b"tools/call" not in body or ALL_SCOPES <= frozenset(caller.scopes):
            return None  # not a call, or a token that may call every group: nothing to parse
        withheld = self.registry.withheld(frozenset(caller.scopes))
        if not withheld or (b"\\u" not in body and not any(n.encode() in body for n in withheld)):
            # No tool it may not call is named anywhere in the body (and no JSON escape could spell
            # one): nothing to parse. Should one slip past anyway, the tool gate still refuses it.
            return None
        try:
            message: Any = json.loads(body)
        except (ValueError, RecursionError):
            return None  # the transport answers the parse error
        if not isinstance(message, dict) or message.get("method") != "tools/call":
            return None
        params = message.get("params")
        name = params.get("name") if isinstance(params, dict) else None
        spec = self.registry.spec(name) if isinstance(name, str) else None
        if spec is None or not self.registry.is_enabled(spec.name):
            return None  # unknown or turned off: the tool error says so
        granted = frozenset(caller.scopes)
        if allowed(spec.group, granted):
            return None
        needed = GROUPS[spec.group].scope
        assert needed is not None  # a group with no scope is allowed to everyone
        arguments = params.get("arguments") if isinstance(params, dict) else None
        self.record(audit.AuditEntry(
            time.time(), caller.client_id, None, caller.grant_id, "tools/call", spec.name,
            summarize(arguments if isinstance(arguments, dict) else None), audit.REFUSED_SCOPE,
            f"HTTP 403: needs {needed}", 0.0))
        self.refused(caller, spec.name, spec.group)
        # Everything the client holds plus what it lacks: a client that signs in again asking for
        # exactly these keeps what it had.
        return " ".join(sorted(granted | {needed}))
