"""Approving on the waiting page after signing in at the team's OpenID Connect provider (hosted mode).

Like the passkey, this answers on the public way in only. Four steps, each its own request:

1. `GET /oidc/login?wait=W`: a fresh `state`, `nonce` and PKCE verifier go into a signed,
   HttpOnly, SameSite=Lax cookie (10 minutes), and the browser goes to the provider.
2. `GET /oidc/callback?code&state`: the cookie is used up (deleted whatever happens), `state`
   must match it, the code is swapped and the ID token checked (app/auth/oidc.py). A person who
   may not approve gets a 403 page and nothing changes; one who may gets a short session cookie
   bound to this one request and their email.
3. `GET /oidc/approve?wait=W`: with that session, the same choices as the passkey page.
4. `POST /oidc/approve`: a form from the public origin itself (its Origin header), carrying the
   session and a token derived from it (CSRF); the answer goes through `ApprovalDesk`, recorded as
   `oidc:EMAIL`, and the browser goes on to the waiting page, which sends the client its code.
"""

from __future__ import annotations

import base64
import hmac
import html
import logging
import secrets
from urllib.parse import parse_qs, quote, urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from app.auth.consent_request import ConsentSigner
from app.auth.cookies import cookie_name, delete_cookie, set_cookie
from app.auth.oidc import OidcClient, OidcError
from app.auth.oidc_settings import OidcSettings
from app.auth.origins import ServerIdentity, WayIn, way_for
from app.auth.pages import message_page, security_headers
from app.auth.sealed import seal, unseal
from app.auth.user_grants import approver_label
from app.auth.waiting_answer import Refused, answer_choices, choices_page, limited, record_answer, waiting_remote
from app.server.ratelimit import RateLimiter
from app.store.kinds import EventKind
from app.store.rows import PendingApproval
from app.store.store import Store

log = logging.getLogger(__name__)

FLOW_COOKIE = "mcp_tray_oidc_flow"
SESSION_COOKIE = "mcp_tray_oidc"
FLOW_TTL = 600.0  # seconds to sign in at the provider
SESSION_TTL = 300.0  # seconds to choose the answer after signing in
ACCOUNT_TTL = 900.0  # seconds the /account page stays signed in
MAX_FORM = 16 * 1024
PUBLIC_ONLY = ("Signing in to approve works on this server's public URL only. On the server itself, "
               "use `mcp-tray approve`.")


class OidcEndpoints:
    """`/oidc/login`, `/oidc/callback` and `/oidc/approve` (GET: the choices, POST: the answer)."""

    def __init__(self, store: Store, identity: ServerIdentity, signer: ConsentSigner, limiter: RateLimiter,
                 settings: OidcSettings, client: OidcClient | None = None) -> None:
        self.store = store
        self.identity = identity
        self.signer = signer
        self.limiter = limiter
        self.settings = settings
        self.client = client or OidcClient(settings)

    def routes(self) -> list[Route]:
        """The routes to add to the app."""
        from app.auth.account_pages import AccountPages

        account = AccountPages(self)
        return [
            Route("/oidc/login", self.login, methods=["GET"]),
            Route("/oidc/callback", self.callback, methods=["GET"]),
            Route("/oidc/approve", self.choices, methods=["GET"]),
            Route("/oidc/approve", self.answer, methods=["POST"]),
            Route("/account", account.page, methods=["GET"]),
            Route("/account/revoke", account.revoke, methods=["POST"]),
        ]

    # -- shared checks -----------------------------------------------------------------------------

    def public_way(self) -> WayIn:
        """The way in, when it is the public URL; Refused (403) on loopback."""
        way = way_for(self.identity)
        if not way.remote or way.public is None:
            raise Refused(403, PUBLIC_ONLY, "oidc_public_only")
        limited(self.limiter, "oidc", way, "sign-in attempts")
        return way

    def session(self, request: Request, way: WayIn, kind: str, wait: str = "") -> str:
        """The email of a valid session cookie of this `kind` (for this request's `wait`); Refused otherwise."""
        found = unseal(self.signer, "oidc-session", request.cookies.get(cookie_name(way, SESSION_COOKIE)))
        if found is None or found.get("k") != kind or (kind == "approve" and found.get("w") != wait):
            raise Refused(403, f"sign in with {self.settings.provider_name} first (no valid sign-in for this page; "
                          "it lasts a few minutes)", "sign_in_required")
        email = str(found.get("e", ""))
        if not self.settings.may_approve(email):  # the allow list changed since
            raise Refused(403, f"{email} may not approve sign-ins on this server", "not_allowed")
        return email

    def checked_form(self, request: Request, way: WayIn, body: bytes) -> dict[str, list[str]]:
        """A form POST from our own public origin with the session's CSRF token; its fields."""
        assert way.public is not None
        if request.headers.get("origin") != way.public.origin:
            raise Refused(403, f"this form must be sent from {way.public.origin} itself", "forbidden_origin")
        if len(body) > MAX_FORM:
            raise Refused(413, "the form is too large")
        try:
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
        except UnicodeDecodeError:
            raise Refused(400, "the form is not UTF-8") from None
        raw = request.cookies.get(cookie_name(way, SESSION_COOKIE), "")
        sent = (form.get("csrf") or [""])[0]
        if not raw or not hmac.compare_digest(sent, csrf_token(self.signer, raw)):
            raise Refused(403, "this form is stale or was not made by this server; reload the page", "bad_csrf")
        return form

    def offered(self, approval: PendingApproval) -> bool:
        """Whether the waiting page being rendered offers signing in (public way in, remote request)."""
        way = way_for(self.identity)
        return way.remote and way.public is not None and bool(approval.request.get("remote"))

    @property
    def label(self) -> str:
        """How the waiting page names this way to answer."""
        return f"signing in with {self.settings.provider_name}"

    def waiting_block(self, approval: PendingApproval, wait: str) -> str:
        """The waiting page's "Sign in with PROVIDER to approve" part, or "" where it is not offered."""
        return _oidc_block(self.settings.provider_name, wait) if self.offered(approval) else ""

    # -- the flow ----------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        """GET /oidc/login?wait=W (or ?next=account): off to the provider, with this browser's flow cookie."""
        try:
            way = self.public_way()
            wait = request.query_params.get("wait", "")
            purpose = "account" if request.query_params.get("next") == "account" and not wait else "approve"
            if purpose == "approve":
                waiting_remote(self.store, self.signer, wait)
            state, nonce, verifier = (secrets.token_urlsafe(32) for _ in range(3))
            url = await self.client.authorization_url(state, nonce, verifier)
        except Refused as exc:
            return message_page("Cannot sign in here", exc.description, status=exc.status)
        except OidcError as exc:
            return message_page("The sign-in provider is not answering", exc.description, status=exc.status)
        response = RedirectResponse(url, status_code=303, headers=security_headers())
        flow = seal(self.signer, "oidc-flow", {"s": state, "n": nonce, "v": verifier, "w": wait, "k": purpose},
                    FLOW_TTL)
        set_cookie(response, way, FLOW_COOKIE, flow, int(FLOW_TTL))
        return response

    async def callback(self, request: Request) -> Response:
        """GET /oidc/callback: check state, swap the code, check the ID token and who it is."""
        try:
            way = self.public_way()
        except Refused as exc:
            return message_page("Cannot sign in here", exc.description, status=exc.status)
        try:
            response = await self._callback(request, way)
        except Refused as exc:
            response = message_page("Cannot use this sign-in" if exc.status != 403 else "You may not approve here",
                                    exc.description, status=exc.status)
        except OidcError as exc:
            response = message_page("The sign-in did not work", exc.description, status=exc.status)
        # The flow is used up on the first callback, whatever its outcome: a replay finds no cookie.
        delete_cookie(response, way, FLOW_COOKIE)
        return response

    async def _callback(self, request: Request, way: WayIn) -> Response:
        flow = unseal(self.signer, "oidc-flow", request.cookies.get(cookie_name(way, FLOW_COOKIE)))
        if flow is None:
            raise Refused(400, "no sign-in is in progress in this browser (it finished already, expired, or "
                          "started elsewhere); start again from the waiting page")
        query = request.query_params
        if query.get("error"):
            raise Refused(400, f"{self.settings.provider_name} did not sign you in: "
                          f"{query.get('error_description') or query.get('error')}")
        if not hmac.compare_digest(str(query.get("state", "")), str(flow.get("s", ""))):
            raise Refused(400, "the sign-in answer does not belong to the sign-in this browser started (state); "
                          "start again from the waiting page")
        code = query.get("code", "")
        if not code:
            raise Refused(400, "the provider's answer has no code")
        approver = await self.client.finish(code, str(flow["v"]), str(flow["n"]))
        wait = str(flow.get("w", ""))
        found = waiting_remote(self.store, self.signer, wait) if flow.get("k") == "approve" else None
        if not self.settings.may_approve(approver.email):
            log.info("OpenID sign-in of %s refused: not allowed to approve", approver.email)
            self.store.log_event(EventKind.OIDC_REFUSED, found.client_id if found else None,
                                 f"{approver.email} may not approve (signed in at {self.settings.provider_name})")
            raise Refused(403, f"You signed in as {approver.email}, who may not approve sign-ins on this server. "
                          "Nothing was approved. Ask the server's admin to add you.", "not_allowed")
        kind = "approve" if found is not None else "account"
        session = seal(self.signer, "oidc-session", {"e": approver.email, "k": kind, "w": wait},
                       SESSION_TTL if kind == "approve" else ACCOUNT_TTL)
        target = f"/oidc/approve?wait={quote(wait, safe='')}" if kind == "approve" else "/account"
        response = RedirectResponse(target, status_code=303, headers=security_headers())
        set_cookie(response, way, SESSION_COOKIE, session, int(SESSION_TTL if kind == "approve" else ACCOUNT_TTL))
        return response

    async def choices(self, request: Request) -> Response:
        """GET /oidc/approve?wait=W: who asks and the choices, for the person who just signed in."""
        try:
            way = self.public_way()
            wait = request.query_params.get("wait", "")
            found = waiting_remote(self.store, self.signer, wait)
            email = self.session(request, way, "approve", wait)
        except Refused as exc:
            return message_page("Sign in to approve first", exc.description, status=exc.status)
        raw = request.cookies.get(cookie_name(way, SESSION_COOKIE), "")
        provider = html.escape(self.settings.provider_name)
        page = choices_page(
            found, server=request.headers.get("host", ""),
            signed_in_html=f"Signed in at {provider} as <strong>{html.escape(email)}</strong>",
            form_html=('<form id="oidc-choices" method="post" action="/oidc/approve">\n'
                       f'  <input type="hidden" name="wait" value="{html.escape(wait)}">\n'
                       f'  <input type="hidden" name="csrf" value="{html.escape(csrf_token(self.signer, raw))}">'),
            recorded=f" The grant is recorded as approved by {email}.")
        return HTMLResponse(page, headers=security_headers(_redirect_origin(found.redirect_uri)))

    async def answer(self, request: Request) -> Response:
        """POST /oidc/approve (form: wait, csrf, action, scope..., lifetime): allow or deny, as `oidc:EMAIL`."""
        try:
            way = self.public_way()
            form = self.checked_form(request, way, await request.body())
            wait = (form.get("wait") or [""])[0]
            found = waiting_remote(self.store, self.signer, wait)
            email = self.session(request, way, "approve", wait)
            body: dict[str, object] = {"action": (form.get("action") or [""])[0], "scopes": form.get("scope", []),
                                       "lifetime": (form.get("lifetime") or ["30d"])[0]}
            label = approver_label(email)
            done = record_answer(self.store, found, answer_choices(body), label)
        except Refused as exc:
            return message_page("This answer was not taken", exc.description, status=exc.status)
        log.info("sign-in %s %s by %s", found.approval_id, done.status, label)
        response = RedirectResponse(f"/consent?wait={quote(wait, safe='')}", status_code=303,
                                    headers=security_headers())
        delete_cookie(response, way, SESSION_COOKIE)
        return response


def csrf_token(signer: ConsentSigner, session_cookie: str) -> str:
    """The form token of one session: only a page this server rendered for that session has it."""
    return base64.urlsafe_b64encode(signer.mac("oidc-csrf", session_cookie.encode())).rstrip(b"=").decode()


def _oidc_block(provider: str, wait: str) -> str:
    """The waiting page's part that sends an approver to the provider (a plain link, no script)."""
    return (
        '<section class="oidc" id="oidc">\n'
        f'    <p class="passkey-lead">Allowed to approve for this server? Sign in at {html.escape(provider)}, '
        'then choose what this app may do.</p>\n'
        '    <div class="actions">\n'
        f'      <a class="button" id="oidc-sign-in" href="/oidc/login?wait={html.escape(quote(wait, safe=""))}">'
        f'Sign in with {html.escape(provider)} to approve</a>\n'
        '    </div>\n'
        '  </section>'
    )


def _redirect_origin(redirect_uri: str) -> str:
    """What the choices form may end up at (CSP form-action follows the redirects): the client's origin."""
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}:" if parts.scheme else ""
