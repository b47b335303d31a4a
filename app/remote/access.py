"""Remote access on and off: start the ingress, open the public way in, and close it all again.

Off by default. Starting runs the chosen ingress and opens the public URL in the host guard;
stopping (the owner, the timer, or panic) closes the public URL first, so the very next request
through it is refused, then stops the ingress and revokes every grant made through it. The
auto-off is one `threading.Timer` waiting for its moment; nothing polls.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from app.auth.origins import PublicOrigin
from app.remote.ingress import Ingress, IngressError
from app.remote.schedule import AUTO_OFF_LABELS, auto_off_at
from app.server.public import PublicEntry
from app.store.kinds import EventKind
from app.store.store import Store
from app.wording import plural

log = logging.getLogger(__name__)


class RemoteState(Enum):
    """Where remote access stands."""

    OFF = "off"
    STARTING = "starting"
    ON = "on"
    ERROR = "error"


@dataclass(frozen=True)
class RemoteStatus:
    """What the dashboard, the tray menu and `serve` show about remote access."""

    state: RemoteState
    ingress: str = ""
    public_url: str | None = None  # the MCP endpoint, https://HOST/mcp, while on
    until: float | None = None  # when it turns itself off (None: never, or not on)
    error: str | None = None
    warning: str = ""

    @property
    def on(self) -> bool:
        """True while the public URL is open."""
        return self.state is RemoteState.ON


class RemoteAccess:
    """One server's remote access; thread-safe, blocking calls (run them off the GUI thread)."""

    def __init__(self, public: PublicEntry, store: Callable[[], Store | None],
                 now: Callable[[], float] = time.time) -> None:
        self.public = public
        self._store = store
        self._now = now
        self._lock = threading.RLock()
        self._ingress: Ingress | None = None
        self._timer: threading.Timer | None = None
        self._status = RemoteStatus(RemoteState.OFF)
        self._listeners: list[Callable[[RemoteStatus], None]] = []

    def status(self) -> RemoteStatus:
        """The current state (one attribute read)."""
        return self._status

    def subscribe(self, listener: Callable[[RemoteStatus], None]) -> None:
        """Call `listener(status)` on every change, on the thread that made it."""
        self._listeners.append(listener)

    def _set(self, status: RemoteStatus) -> None:
        self._status = status
        for listener in list(self._listeners):
            listener(status)

    def start(self, ingress: Ingress, local_url: str, auto_off: str) -> RemoteStatus:
        """Start `ingress` in front of `local_url` and open its public URL; raises IngressError."""
        with self._lock:
            if self._ingress is not None:
                self.stop("remote access restarted", revoke=False)
            self._set(RemoteStatus(RemoteState.STARTING, ingress.name))
            if hasattr(ingress, "on_lost"):  # a program that may end on its own
                ingress.on_lost = lambda why, ingress=ingress: self._lost(ingress, why)
            try:
                origin = ingress.start(local_url)
            except IngressError as exc:
                ingress.stop()
                log.warning("remote access through %s failed: %s", ingress.name, exc)
                self._set(RemoteStatus(RemoteState.ERROR, ingress.name, error=str(exc)))
                self._log(EventKind.REMOTE_ACCESS, f"could not start {ingress.name}: {exc}")
                raise
            self._ingress = ingress
            self.public.open(origin)
            until = auto_off_at(auto_off, self._now())
            self._arm(until)
            self._set(RemoteStatus(RemoteState.ON, ingress.name, f"{origin.origin}/mcp", until,
                                   warning=ingress.warning))
            self._log(EventKind.REMOTE_ACCESS, f"on at {origin.origin} through {ingress.name}; "
                      f"turns off {AUTO_OFF_LABELS.get(auto_off, auto_off)}")
            return self._status

    def reopen(self, origin: PublicOrigin) -> None:
        """A running ingress got a new public URL (a quick tunnel that reconnected)."""
        with self._lock:
            if self._ingress is not None:
                self.public.open(origin)
                self._set(RemoteStatus(RemoteState.ON, self._status.ingress, f"{origin.origin}/mcp",
                                       self._status.until, warning=self._status.warning))

    def stop(self, reason: str = "remote access stopped", *, revoke: bool = True) -> int:
        """Close the public URL, stop the ingress, and (by default) revoke remote grants; returns how many."""
        with self._lock:
            self.public.close()  # first: from here on the public host is refused
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            ingress, self._ingress = self._ingress, None
            was_on = ingress is not None
            if ingress is not None:
                try:
                    ingress.stop()
                except Exception:
                    log.exception("stopping %s failed", ingress.name)
            revoked = 0
            store = self._store()
            if revoke and store is not None:
                revoked = store.revoke_remote(reason)
            if was_on or revoked:
                self._log(EventKind.REMOTE_ACCESS, f"off ({reason}); {plural(revoked, 'remote sign-in')} revoked")
            if self._status.state is not RemoteState.OFF:
                self._set(RemoteStatus(RemoteState.OFF))
            return revoked

    def _lost(self, ingress: Ingress, why: str) -> None:
        """The ingress ended by itself: close the public URL and say why (grants stay, as on a server stop)."""
        with self._lock:
            if self._ingress is not ingress:
                return
            self.stop(f"{ingress.name} ended: {why}", revoke=False)
            self._set(RemoteStatus(RemoteState.ERROR, ingress.name, error=f"{ingress.name} ended: {why}"))

    def _arm(self, until: float | None) -> None:
        if until is None:
            return
        timer = threading.Timer(max(0.0, until - time.time()), self._expired)  # a wall-clock moment
        timer.daemon = True
        timer.name = "remote-auto-off"
        self._timer = timer
        timer.start()

    def _expired(self) -> None:
        log.info("remote access reached its end time; turning it off")
        self.stop("remote access turned itself off at its end time")

    def _log(self, kind: EventKind, detail: str) -> None:
        store = self._store()
        if store is not None:
            store.log_event(kind, None, detail)
