"""What one server is made of, assembled in one place for both entry points (the tray app and `serve`).

`build_parts(settings, data_dir, ...)` opens the store, loads the tool registry (built-ins,
installed plugins, the tools folder), and makes the consent signer, token lifetimes, the public
entry and the queues the tray listens to. The ServerRunner only runs what it is given: it sets the
identity to the port it bound, and `reconfigure` applies saved settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from app.auth.approval import ApprovalEvents
from app.auth.bearer import LiveConnections
from app.auth.cimd_fetch import FetchPolicy
from app.auth.consent_request import ConsentSigner
from app.auth.oidc_settings import OidcSettings
from app.auth.origins import LOOPBACK_HOSTS, ServerIdentity, parse_proxies
from app.auth.provider import TokenLifetimes
from app.config import Settings
from app.secrets.keyring_store import Secret, load_or_create
from app.server.audit_writer import AuditWriter
from app.server.held_calls import HeldCalls
from app.server.hosting import Hosting
from app.server.public import PublicEntry
from app.server.ratelimit import RateLimiter
from app.server.shared_limits import SharedRateLimiter
from app.server.stats import ServerStats
from app.server.tool_gate import ScopeRefusal, ToolGate
from app.store.store import Store
from app.tools.registry import ToolRegistry

SIGNING_KEY = "consent-signing-key"


@dataclass
class ServerParts:
    """What one running server is made of, for the runner, the GUI and tests to reach."""

    store: Store
    identity: ServerIdentity
    signer: ConsentSigner
    lifetimes: TokenLifetimes
    tools: ToolRegistry
    stats: ServerStats = field(default_factory=ServerStats)
    live: LiveConnections = field(default_factory=LiveConnections)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    approvals: ApprovalEvents = field(default_factory=ApprovalEvents)
    documents: FetchPolicy = field(default_factory=FetchPolicy.from_env)
    public: PublicEntry = field(default_factory=PublicEntry)
    settings: Settings = field(default_factory=Settings)
    audit: AuditWriter | None = None  # the running server's audit writer
    held: HeldCalls = field(default_factory=HeldCalls)  # calls waiting for the owner (policy Ask)
    gate: ToolGate | None = None  # the running server's scope and policy checks
    scope_listeners: list[Callable[[ScopeRefusal], None]] = field(default_factory=list)  # the tray's offer
    oidc: OidcSettings | None = None  # hosted mode: approvers sign in at this OpenID Connect provider
    hosting: Hosting = field(default_factory=Hosting)  # this process's part in `serve --workers N`


class KeyringSigner(ConsentSigner):
    """A ConsentSigner whose key is read from the keyring at its first use (or by `load()`), not when built.

    The tray builds its parts before its event loop runs; the keyring read (which may wait for an
    unlock prompt) then happens on the worker that starts the server.
    """

    def __init__(self, load: Callable[[], Secret]) -> None:
        super().__init__(b"")
        self._load = load
        self._secret: Secret | None = None
        self._key_lock = threading.Lock()

    def load(self) -> Secret:
        """Read the key now if it is not read yet (once; later calls return it); the runner calls this at start."""
        with self._key_lock:
            if self._secret is None:
                self._secret = self._load()
                self._key = self._secret.value
            return self._secret

    def _mac(self, purpose: str, data: bytes) -> bytes:
        self.load()
        return super()._mac(purpose, data)


def extra_hosts(host: str) -> frozenset[str]:
    """Host names besides loopback that requests may name: the bound address when it is a specific one."""
    wildcard = host in ("0.0.0.0", "::", "")  # noqa: S104 - compared, not bound
    return frozenset() if host in LOOPBACK_HOSTS or wildcard else frozenset({host})


def build_parts(settings: Settings, data_dir: Path, *, host: str = "127.0.0.1", port: int = 0,
                secret: Secret | None = None, tools: ToolRegistry | None = None, database: str | None = None,
                hosting: Hosting | None = None) -> ServerParts:
    """Everything a server needs, built once; `secret` is read from the keyring when first needed if not given.

    `database`: a postgresql:// URL (None: $MCP_TRAY_DATABASE_URL, else the data dir's SQLite file).
    On PostgreSQL the rate limits live in the database, shared by every worker.
    """
    signer = KeyringSigner(lambda: secret if secret is not None else load_or_create(SIGNING_KEY, data_dir))
    store = Store(data_dir, database)
    return ServerParts(
        store=store,
        identity=ServerIdentity(port, extra_hosts(host)),
        signer=signer,
        lifetimes=TokenLifetimes(settings.access_token_ttl, settings.refresh_token_ttl),
        tools=tools if tools is not None else ToolRegistry(data_dir),
        public=PublicEntry(parse_proxies(settings.trusted_proxies)),
        settings=settings,
        hosting=hosting or Hosting(),
        limiter=SharedRateLimiter(store.db) if store.db.kind == "postgres" else RateLimiter(),
    )
