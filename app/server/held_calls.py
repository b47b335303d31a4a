"""Holding a call until the owner answers: the server's side of the tool policy Ask.

`hold()` writes the call to the store and waits. An answer arrives either directly (the tray, in
this process, calls `answer()`, which wakes the waiting call at once) or through the store (the CLI
in another process): the store is read every POLL seconds, and only while a call is held. No
answer within the timeout, and the call fails. A sign-in may have only so many calls waiting.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio

from app.auth.caller import CallerToken
from app.store import audit
from app.store.held import ALLOWED, DENIED, ONCE, WAITING, HeldCall
from app.store.store import Store

log = logging.getLogger(__name__)

POLL = 0.25  # seconds between looks at the store while a call is held


@dataclass(frozen=True)
class Verdict:
    """How holding a call ended."""

    allowed: bool
    outcome: str  # an audit outcome: ok, denied, no answer, refused
    message: str = ""


Listener = Callable[[list[HeldCall]], None]


class HeldCalls:
    """The calls this server holds right now. Thread-safe; `hold` runs on the server's event loop."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[HeldCall, anyio.Event, asyncio.AbstractEventLoop]] = {}
        self._per_grant: dict[str, int] = {}
        self._listeners: list[Listener] = []
        self._names: dict[str, str | None] = {}
        self.store: Store | None = None
        self.timeout: Callable[[], float] = lambda: 60.0
        self.cap: Callable[[], int] = lambda: 5

    def bind(self, store: Store, timeout: Callable[[], float], cap: Callable[[], int]) -> None:
        """Use this store and these settings (called when the server is built)."""
        self.store, self.timeout, self.cap = store, timeout, cap

    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call `listener(waiting calls, oldest first)` after a call is held or ends (server thread)."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def waiting(self) -> list[HeldCall]:
        """The calls held now, oldest first."""
        with self._lock:
            return sorted((c for c, _, _ in self._waiting.values()), key=lambda c: (c.at, c.call_id))

    def _notify(self) -> None:
        calls = self.waiting()
        for listener in list(self._listeners):
            try:
                listener(calls)
            except Exception:
                log.exception("held-call listener failed")

    def _client_name(self, store: Store, client_id: str) -> str | None:
        if client_id not in self._names:
            info = store.client_info(client_id)
            name = info.get("client_name") if info else None
            self._names[client_id] = name if isinstance(name, str) else None
        return self._names[client_id]

    @staticmethod
    def _full(cap: int) -> str:
        return (f"{cap} calls from this connection are already waiting for the owner of MCP Tray to answer; "
                "this one was refused. Try again once they are answered.")

    async def hold(self, caller: CallerToken, tool: str, arguments: dict[str, Any]) -> Verdict:
        """Wait for the owner's answer to this call."""
        store = self.store
        if store is None:
            return Verdict(False, audit.DENIED, "MCP Tray cannot ask its owner right now")
        cap = self.cap()
        with self._lock:
            if self._per_grant.get(caller.grant_id, 0) >= cap:
                return Verdict(False, audit.REFUSED, self._full(cap))
            self._per_grant[caller.grant_id] = self._per_grant.get(caller.grant_id, 0) + 1
        call: HeldCall | None = None
        try:
            shown = json.dumps(arguments, indent=2, ensure_ascii=False, default=repr)
            name = await anyio.to_thread.run_sync(self._client_name, store, caller.client_id)
            # The cap holds across every process on the store (workers, replicas), not per process.
            since = time.time() - self.timeout() - POLL
            call = await anyio.to_thread.run_sync(store.held.hold_capped, caller.client_id, name, caller.grant_id,
                                                  tool, shown, cap, since)
            if call is None:
                return Verdict(False, audit.REFUSED, self._full(cap))
            event = anyio.Event()
            with self._lock:
                self._waiting[call.call_id] = (call, event, asyncio.get_running_loop())
            self._notify()
            return await self._wait(store, call, event)
        finally:
            with self._lock:
                left = self._per_grant.get(caller.grant_id, 1) - 1
                if left > 0:
                    self._per_grant[caller.grant_id] = left
                else:
                    self._per_grant.pop(caller.grant_id, None)
                if call is not None:
                    self._waiting.pop(call.call_id, None)
            if call is not None:
                with anyio.CancelScope(shield=True):
                    await anyio.to_thread.run_sync(store.held.release, call.call_id)
                self._notify()

    async def _wait(self, store: Store, call: HeldCall, event: anyio.Event) -> Verdict:
        timeout = self.timeout()
        deadline = time.monotonic() + timeout
        state: str | None = WAITING
        while state == WAITING:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                # Close the door first, so an answer that lands now cannot be taken for a yes.
                if await anyio.to_thread.run_sync(store.held.release_if_waiting, call.call_id):
                    return Verdict(False, audit.NO_ANSWER,
                                   f"The owner of MCP Tray did not answer within {timeout:g} s, so the call to "
                                   f"{call.tool} was not made.")
            with anyio.move_on_after(min(POLL, max(remaining, 0.01))):
                await event.wait()
            state = await anyio.to_thread.run_sync(store.held.state, call.call_id)
        if state == ALLOWED:
            return Verdict(True, audit.OK)
        if state == DENIED:
            return Verdict(False, audit.DENIED, f"The owner of MCP Tray declined this call to {call.tool}.")
        return Verdict(False, audit.NO_ANSWER, f"The call to {call.tool} was withdrawn before the owner answered.")

    def answer(self, call_id: str, allow: bool, answer_for: str = ONCE, by: str = "tray") -> HeldCall | None:
        """Answer a held call from any thread (writes the store, then wakes the call at once)."""
        store = self.store
        if store is None:
            return None
        answered = store.held.answer(call_id, allow, answer_for, by)
        with self._lock:
            entry = self._waiting.get(call_id)
        if entry is not None:
            _, event, loop = entry
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # the loop closed meanwhile: the call is over anyway
                pass
        return answered
