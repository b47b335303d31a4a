"""The owner's rules, enforced in the server before any tool runs: scope, then policy (Allow, Ask, Block).

Called by TrayMCPServer.call_tool, which every transport and protocol era reaches, so no client
can skip it and none needs to support anything for it. A refusal is a ToolError: the client gets a
tool error that says why, and the audit log records the reason through `note`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from app.auth.caller import CallerToken, current_caller
from app.server.audit_middleware import note
from app.server.held_calls import HeldCalls
from app.store import audit
from app.store.store import Store
from app.tools.groups import GROUPS, allowed
from app.tools.policy import ASK, BLOCK
from app.tools.registry import ToolRegistry

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScopeRefusal:
    """A client called a tool of a group its sign-in was not given: the owner may extend the sign-in."""

    client_id: str
    grant_id: str
    tool: str
    group: str
    scope: str


class ToolGate:
    """Checks one tools/call against the caller's scopes and the tool's policy."""

    def __init__(self, registry: ToolRegistry, held: HeldCalls, store: Store,
                 scope_listeners: list[Callable[[ScopeRefusal], None]] | None = None) -> None:
        self.registry = registry
        self.held = held
        self.store = store
        # Called (on the server's thread) when a call is refused for a missing scope.
        self._scope_listeners = scope_listeners if scope_listeners is not None else []

    def scope_refused(self, caller: CallerToken | None, tool: str, group: str) -> None:
        """Tell the listeners (the tray's offer) about a refusal; the transport layer calls it too."""
        scope = GROUPS[group].scope
        if caller is None or scope is None:
            return
        refusal = ScopeRefusal(caller.client_id, caller.grant_id, tool, group, scope)
        for listener in list(self._scope_listeners):
            try:
                listener(refusal)
            except Exception:
                log.exception("scope listener failed")

    async def check(self, name: str, arguments: dict[str, Any]) -> None:
        """Return when the call may go on; ToolError with the reason when it may not."""
        spec = self.registry.spec(name)
        if spec is None:
            return  # the registry's lookup says "Unknown tool"
        caller = current_caller()
        scopes = frozenset(caller.scopes) if caller is not None else frozenset()
        if not allowed(spec.group, scopes):
            group = GROUPS[spec.group]
            note(audit.REFUSED_SCOPE, f"needs {group.scope}")
            self.scope_refused(caller, name, spec.group)
            return  # the registry's lookup explains the missing permission
        try:
            policy = self.registry.policy(name)
        except KeyError:
            return
        if policy == BLOCK:
            message = f"The owner of MCP Tray has blocked the tool {name!r}."
            note(audit.BLOCKED, message)
            raise ToolError(message)
        if policy != ASK:
            return
        if caller is None:
            note(audit.DENIED, "no sign-in to ask about")
            raise ToolError(f"The tool {name!r} needs the owner's approval, and this call has no sign-in.")
        if self.store.held.allowed(caller.client_id, name):
            return
        verdict = await self.held.hold(caller, name, arguments)
        if not verdict.allowed:
            note(verdict.outcome, verdict.message)
            raise ToolError(verdict.message)
