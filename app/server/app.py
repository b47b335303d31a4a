"""The Starlette app: OAuth endpoints, consent page, metadata and both MCP transports behind a bearer guard.

How a request travels: Guard (Host, Origin, CORS, size) -> route -> for /mcp, /sse and
/messages/: BearerGuard (token from the store) -> the MCP SDK transport -> MCPServer tools.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import AsyncIterator
from typing import Any

import anyio
from mcp.server.auth.handlers.token import TokenHandler
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.auth.authorize import AuthorizeEndpoint
from app.auth.bearer import BearerGuard, watch_revocations
from app.auth.cimd_fetch import DocumentFetcher
from app.auth.client_auth import HashedSecretAuthenticator
from app.auth.consent import AnswerHere, ConsentEndpoint
from app.auth.errors import oauth_error
from app.auth.metadata import (
    RESOURCE_METADATA,
    SERVER_METADATA,
    resource_metadata_endpoint,
    server_metadata_endpoint,
)
from app.auth.origins import PublicOrigin, ServerIdentity, current_origin
from app.auth.pages import message_page
from app.auth.passkey_pages import PasskeyEndpoints
from app.auth.provider import StoreProvider
from app.auth.register import RegisterEndpoint
from app.auth.revoke import RevokeEndpoint
from app.auth.token import TokenEndpoint
from app.resources import resource_path
from app.server.audit_middleware import AuditMiddleware
from app.server.audit_writer import AuditWriter, Retention
from app.server.guard import Guard, Refusal
from app.server.health import health, ready_endpoint
from app.server.mcp_server import build_mcp_server
from app.server.parts import ServerParts
from app.server.public import PublicEntry
from app.server.ratelimit import Limit, limit_register, limit_token
from app.server.request_log import RequestLog
from app.server.revocation_listener import listen_revocations
from app.server.session_quota import SessionQuota
from app.server.sse_relay import MessagesRelay, RelayEntry
from app.server.step_up import StepUp
from app.server.tool_events import ToolEvents
from app.server.tool_gate import ToolGate
from app.store.kinds import EventKind
from app.store.store import Store

log = logging.getLogger(__name__)

REFUSED_LOG = Limit(5, 1 / 60)  # activity-log lines about refused public-host requests: 5, then 1 a minute
AUDIT_OFF_ENV = "MCP_TRAY_BENCH_AUDIT_OFF"  # "1": no audit middleware (bench/audit.py's reference server)


def _transport_security(identity: ServerIdentity, public: PublicEntry) -> TransportSecuritySettings:
    """The SDK's own Host/Origin check: loopback names, plus the public host while it is open.

    The guard already decided the way in; this keeps the SDK's second check in step with it.
    """
    names = ["127.0.0.1", "localhost", "[::1]", *sorted(identity.extra_hosts)]
    hosts = [f"{n}:{identity.port}" for n in names] + names
    origins = [f"{scheme}://{n}:*" for n in names for scheme in ("http", "https")]
    security = TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins,
    )

    def follow(origin: PublicOrigin | None) -> None:
        # Whole lists are assigned (one attribute store), never edited in place under a reader.
        extra_hosts = [origin.host_header, origin.host, f"{origin.host}:*"] if origin else []
        security.allowed_hosts = hosts + extra_hosts
        security.allowed_origins = origins + ([origin.origin] if origin else [])

    public.subscribe("transport-security", follow)
    return security


def build_app(parts: ServerParts) -> Starlette:
    """The whole ASGI app for one server."""
    store, identity, hosting = parts.store, parts.identity, parts.hosting
    if hosting.housekeeping:
        housekeeping(store)
    provider = StoreProvider(store, identity, parts.signer, parts.lifetimes, parts.approvals,
                             DocumentFetcher(parts.documents))
    authenticator = HashedSecretAuthenticator(provider)
    mcp = build_mcp_server(parts.tools)
    tool_events = ToolEvents(mcp)
    mcp.middleware.append(tool_events)
    writer = AuditWriter(store.data_dir, Retention(parts.settings.audit_max_days, parts.settings.audit_max_rows),
                         store.db.url)
    parts.audit = writer
    if os.environ.get(AUDIT_OFF_ENV) != "1":  # off only for the benchmark's reference run
        mcp.middleware.append(AuditMiddleware(writer))
    parts.held.bind(store, lambda: float(parts.settings.ask_timeout), lambda: parts.settings.max_held_per_grant)
    mcp.gate = parts.gate = ToolGate(parts.tools, parts.held, store, parts.scope_listeners)
    lowlevel = mcp._lowlevel_server
    security = _transport_security(identity, parts.public)
    # Several workers: no session lives in one worker's memory (app/server/hosting.py says why).
    sessions = StreamableHTTPSessionManager(app=lowlevel, security_settings=security, stateless=hosting.stateless)
    sse = SseServerTransport(hosting.messages_path, security_settings=security)

    async def run_sse(scope: Scope, receive: Receive, send: Send) -> None:
        async with sse.connect_sse(scope, receive, send) as (read, write):
            await lowlevel.run(read, write, lowlevel.create_initialization_options())

    gate = parts.gate
    step_up = StepUp(parts.tools, writer.record, gate.scope_refused)

    def guarded(app: Any, path: str, challenge: bool = False) -> BearerGuard:
        return BearerGuard(app, store, identity, parts.live, path, parts.limiter,
                           step_up.challenge if challenge else None)

    authorize = AuthorizeEndpoint(provider, store, parts.limiter)
    passkeys = PasskeyEndpoints(store, identity, parts.signer, parts.limiter)
    oidc_routes: list[Route] = []
    here: list[AnswerHere] = [passkeys]
    if parts.oidc is not None:
        from app.auth.oidc_pages import OidcEndpoints  # Authlib and joserfc load only when OIDC is on

        oidc = OidcEndpoints(store, identity, parts.signer, parts.limiter, parts.oidc)
        oidc_routes = oidc.routes()
        here.insert(0, oidc)
    consent = ConsentEndpoint(store, parts.signer, here, window=hosting.window)
    token = TokenEndpoint(TokenHandler(provider, authenticator), identity, provider)
    revoke = RevokeEndpoint(provider, authenticator)
    register = RegisterEndpoint(provider)

    async def home(request: Request) -> Response:
        origin = current_origin.get()
        return message_page(
            "MCP Tray is running",
            f"Connect MCP clients to {origin}/mcp (streamable HTTP) or {origin}/sse (legacy SSE). "
            "Clients sign in with OAuth; you approve each one here.",
            status=200, tone="ok",
        )

    def static(url_name: str, resource: str, media_type: str) -> Route:
        async def serve(request: Request) -> Response:
            return FileResponse(resource_path(*resource.split("/")), media_type=media_type,
                                headers={"Cache-Control": "max-age=3600", "X-Content-Type-Options": "nosniff"})
        return Route(f"/static/{url_name}", serve, methods=["GET"])

    routes = [
        # The MCP endpoints first: the router tries routes in order, and nearly every request is for these.
        # Step-up on /mcp only: an SSE client's POST is answered 202 before the call runs, so there
        # the call gets the tool error that names the missing permission instead.
        Route("/mcp", guarded(SessionQuota(StreamableHTTPASGIApp(sessions)), "/mcp", challenge=True)),
        Route("/sse", guarded(run_sse, "/sse"), methods=["GET"]),
        Mount("/messages", MessagesRelay(guarded(sse.handle_post_message, "/sse"), hosting) if hosting.several
              else guarded(sse.handle_post_message, "/sse")),
        Route("/", home, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/ready", ready_endpoint(store), methods=["GET"]),
        Route(SERVER_METADATA, server_metadata_endpoint, methods=["GET"]),
        *(Route(RESOURCE_METADATA + p, resource_metadata_endpoint, methods=["GET"]) for p in ("", "/mcp", "/sse")),
        Route("/authorize", authorize.handle, methods=["GET", "POST"]),
        Route("/consent", consent.handle, methods=["GET", "POST"]),
        Route("/consent/status", consent.status, methods=["GET"]),
        Route("/passkeys/enroll", passkeys.enroll_page, methods=["GET"]),
        Route("/passkeys/enroll/options", passkeys.enroll_options, methods=["POST"]),
        Route("/passkeys/enroll/verify", passkeys.enroll_verify, methods=["POST"]),
        Route("/passkeys/approve/options", passkeys.approve_options, methods=["POST"]),
        Route("/passkeys/approve/verify", passkeys.approve_verify, methods=["POST"]),
        Route("/passkeys/approve", passkeys.choices_page, methods=["GET"]),
        Route("/passkeys/approve", passkeys.answer, methods=["POST"]),
        *oidc_routes,
        Route("/token", limit_token(parts.limiter, token.handle), methods=["POST"]),
        Route("/register", limit_register(parts.limiter, register.handle), methods=["POST"]),
        Route("/revoke", limit_token(parts.limiter, revoke.handle), methods=["POST"]),
        static("page.css", "web/page.css", "text/css"),
        static("waiting.js", "web/waiting.js", "text/javascript"),
        static("passkey.js", "web/passkey.js", "text/javascript"),
        static("icon.svg", "icons/mcp-tray.svg", "image/svg+xml"),
    ]

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        try:
            async with sessions.run(), anyio.create_task_group() as tg:
                listening = store.db.kind == "postgres" and store.db.url is not None
                tg.start_soon(watch_revocations, store, parts.live, 0.25, not listening)
                if listening and store.db.url is not None:
                    tg.start_soon(listen_revocations, store.db.url, store, parts.live)
                tg.start_soon(tool_events.run)
                yield
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(writer.close)

    async def not_found(request: Request, exc: Exception) -> Response:
        return oauth_error("not_found", f"Nothing is served at {request.url.path[:200]}", 404)

    async def too_large(request: Request, exc: Exception) -> Response:
        return oauth_error("request_too_large", str(getattr(exc, "detail", "")), 413)

    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s", request.url.path, exc_info=exc)
        parts.stats.error(f"{type(exc).__name__} on {request.url.path}")
        return oauth_error("server_error", "unexpected error", 500)

    starlette = Starlette(
        routes=routes,
        lifespan=lifespan,
        exception_handlers={404: not_found, 413: too_large, 500: server_error},
    )
    starlette.state.parts = parts
    starlette.state.sessions = sessions
    return starlette


def housekeeping(store: Store) -> None:
    """What a server does once as it starts, when no other process serves the same store."""
    store.prune()  # stale registrations and old activity (registrations prune later too)
    store.held.clear()  # nothing of a previous run still waits
    if store.db.kind == "postgres":
        from app.server.shared_limits import prune

        prune(store.db)  # rate buckets idle long enough to be full again


def wrap(app: Starlette, parts: ServerParts) -> ASGIApp:
    """The app behind the outermost guard, inside the request log: what uvicorn serves."""

    def refused(refusal: Refusal, peer: str) -> None:
        # Public-host requests that did not come through the ingress, in the activity log (throttled).
        if parts.limiter.take("refused-log", refusal.error, REFUSED_LOG) == 0.0:
            detail = f"{refusal.error} from {peer or '?'}: {refusal.description}"
            parts.store.log_event(EventKind.REMOTE_REFUSED, None, detail)

    served = RequestLog(Guard(app, parts.identity, parts.stats, parts.public, refused, parts.limiter),
                        access=parts.hosting.access_log)
    hosting = parts.hosting
    return RelayEntry(served, hosting.relay_socket(hosting.index)) if hosting.several else served
