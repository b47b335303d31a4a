"""Owner approval: the rules every place that answers a sign-in request shares (tray, CLI, passkey).

A client's request never grants itself anything: the owner's answer decides the tool groups (each
off unless the owner turns it on, whatever the client asked for) and how long the grant lasts.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Sequence
from urllib.parse import urlsplit

from app.auth.client_identity import ClientIdentity, describe_client
from app.auth.origins import LOOPBACK_HOSTS
from app.auth.scopes import DEFAULT_SCOPE, OPTIONAL_TOOL_SCOPES, describe
from app.store.rows import PendingApproval
from app.store.store import Store
from app.tools.groups import TOOL_SCOPES

log = logging.getLogger(__name__)

HOUR = 3600.0
DAY = 24 * HOUR
# How long a grant lasts: the choices of the tray window and of `mcp-tray approve --for`.
LIFETIMES: dict[str, tuple[str, float | None]] = {
    "1h": ("1 hour", HOUR),
    "1d": ("1 day", DAY),
    "30d": ("30 days", 30 * DAY),
    "forever": ("Until I revoke it", None),
}
DEFAULT_LIFETIME = "30d"


def parse_lifetime(text: str) -> float | None:
    """Seconds for `1h`, `1d`, `30d` or `forever` (None); ValueError for anything else."""
    try:
        return LIFETIMES[text.strip().lower()][1]
    except KeyError:
        raise ValueError(f"unknown lifetime {text!r}; use one of {', '.join(LIFETIMES)}") from None


def granted_scopes(requested: Sequence[str], tool_scopes: Iterable[str]) -> tuple[str, ...]:
    """What a grant gets: the client's non-tool scopes, plus exactly the tool groups the owner turned on."""
    chosen = set(tool_scopes)
    unknown = chosen - set(OPTIONAL_TOOL_SCOPES)
    if unknown:
        raise ValueError(f"not a tool group: {', '.join(sorted(unknown))}; "
                         f"choose from {', '.join(OPTIONAL_TOOL_SCOPES)}")
    base = tuple(s for s in requested if s not in TOOL_SCOPES)
    return (base or (DEFAULT_SCOPE,)) + tuple(s for s in OPTIONAL_TOOL_SCOPES if s in chosen)


def came_in_remotely(approval: PendingApproval) -> bool:
    """True when the request arrived through the public URL (remote access), not on loopback."""
    return bool(approval.request.get("remote"))


def requested_tool_scopes(approval: PendingApproval) -> tuple[str, ...]:
    """The optional tool groups the client asked for (shown as asked, never pre-granted)."""
    return tuple(s for s in OPTIONAL_TOOL_SCOPES if s in approval.scopes)


def basic_scope_lines(scopes: Sequence[str]) -> list[str]:
    """Plain words for what any grant allows (the non-tool scopes)."""
    return [describe(s) for s in scopes if s not in TOOL_SCOPES] or [describe(DEFAULT_SCOPE)]


def answer_target(redirect_uri: str) -> str:
    """Where the answer goes, as host:port (or the scheme of a native app's private-use redirect)."""
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https"):
        host = parts.hostname or ""
        shown = f"[{host}]" if ":" in host else host
        return f"{shown}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    return f"{parts.scheme}:"


def loopback_port(redirect_uri: str) -> int | None:
    """The port of a loopback http redirect, or None."""
    try:
        parts = urlsplit(redirect_uri)
        if parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS:
            return parts.port or 80
    except ValueError:
        pass
    return None


def listener_on(redirect_uri: str) -> str:
    """Which local program listens on a loopback redirect's port: 'name (path), pid N', or why unknown.

    The answer carries the authorization code to that port, so the owner should know who holds it.
    """
    port = loopback_port(redirect_uri)
    if port is None:
        return ""
    try:
        import psutil  # imported here: only sign-in requests need it

        pids = {c.pid for c in psutil.net_connections(kind="tcp")
                if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port}
    except Exception as exc:  # access denied on some systems; never fail a sign-in over it
        log.info("could not list listening sockets: %s", exc)
        return f"port {port}: could not tell which program listens there"
    pids.discard(None)
    if not pids:
        return f"port {port}: no program is listening there right now"
    described = []
    for pid in sorted(p for p in pids if p is not None):
        try:
            proc = psutil.Process(pid)
            described.append(f"{proc.name()} ({proc.exe() or '?'}), pid {pid}")
        except Exception:  # the process ended, or belongs to another user
            described.append(f"pid {pid} (another user's program, or it just ended)")
    return f"port {port}: " + "; ".join(described)


def client_identity(approval: PendingApproval) -> ClientIdentity:
    """How the approval shows the client: verified by its metadata document, or a name it chose itself."""
    identity = describe_client(approval.client_id, approval.client_info)
    if identity.verified or identity.name != "An unnamed app":
        return identity
    return ClientIdentity(approval.client_name, identity.verified, identity.label, identity.warning)


class ApprovalEvents:
    """Tells the tray (or the headless console) that a sign-in request arrived. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listeners: list[Callable[[PendingApproval], None]] = []

    def subscribe(self, listener: Callable[[PendingApproval], None]) -> None:
        """Call `listener` (from the server thread) for every new request."""
        with self._lock:
            self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[PendingApproval], None]) -> None:
        """Stop calling `listener`."""
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def arrived(self, approval: PendingApproval) -> None:
        """A new request waits for the owner."""
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener(approval)
            except Exception:
                log.exception("approval listener failed")


class ApprovalDesk:
    """The owner's answers, the same for the tray window and the CLI: the consent rules applied once."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def waiting(self) -> list[PendingApproval]:
        """Requests waiting for the owner, oldest first."""
        return self.store.approvals.waiting()

    def allow(
        self, approval_id: str, tool_scopes: Iterable[str], lifetime: str, approver: str
    ) -> PendingApproval | None:
        """Grant the client's basic scopes plus exactly `tool_scopes`, for `lifetime` (a LIFETIMES key)."""
        found = self.store.approvals.get(approval_id)
        if found is None:
            return None
        return self.store.approvals.answer(found.approval_id, approve=True,
                                         scopes=granted_scopes(found.scopes, tool_scopes),
                                         lifetime=parse_lifetime(lifetime), approver=approver)

    def deny(self, approval_id: str, approver: str) -> PendingApproval | None:
        """Refuse; the waiting page sends the client `access_denied`."""
        found = self.store.approvals.get(approval_id)
        if found is None:
            return None
        return self.store.approvals.answer(found.approval_id, approve=False, approver=approver)
