"""The passkey endpoints: enrol a passkey through the owner's link, approve on the waiting page with one.

Everything here answers on the public way in only (a passkey's RP ID is the public host); on
loopback the owner approves in the tray window or the CLI. Every POST must come from the public
origin itself (its Origin header), and each endpoint is rate limited per caller address.

Approving is three steps: `approve/options` (a challenge for this one request, 2 minutes, used
once), `approve/verify` (the assertion; on success a short session for this request and this
passkey, in a `__Host-` cookie), then the answer (`POST /passkeys/approve`, which must carry that
session and uses it up). The answer goes through `ApprovalDesk`, as the tray's and the CLI's do.
"""

from __future__ import annotations

import html
import logging
import time

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from app.auth.approval import came_in_remotely
from app.auth.consent_request import ConsentSigner
from app.auth.cookies import cookie_name, delete_cookie, set_cookie
from app.auth.errors import oauth_error
from app.auth.origins import ServerIdentity, WayIn, way_for
from app.auth.pages import message_page, render, security_headers
from app.auth.passkeys import Ceremonies, RelyingParty, parse_json
from app.auth.waiting_answer import Refused, answer_choices, choices_page, limited, record_answer, waiting_remote
from app.server.ratelimit import RateLimiter
from app.store.kinds import EventKind
from app.store.passkeys import SESSION_TTL, Enrolment, PasskeyError
from app.store.rows import PendingApproval
from app.store.store import Store

log = logging.getLogger(__name__)

SESSION_COOKIE = "mcp_tray_passkey"
LOOPBACK_REFUSAL = ("Passkeys are used on the public URL only. On this computer, approve in the MCP Tray "
                    "window or with `mcp-tray approve`.")


def _json_error(exc: Refused) -> Response:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else {}
    return oauth_error(exc.error, exc.description, exc.status, headers)


class PasskeyEndpoints:
    """Enrolment (`/passkeys/enroll...`) and approval (`/passkeys/approve...`) on the public way in."""

    def __init__(self, store: Store, identity: ServerIdentity, signer: ConsentSigner, limiter: RateLimiter) -> None:
        self.store = store
        self.identity = identity
        self.signer = signer
        self.limiter = limiter
        self.ceremonies = Ceremonies(store.passkeys)

    # -- shared checks -----------------------------------------------------------------------------

    def _public(self) -> tuple[WayIn, RelyingParty]:
        """The public way in and its relying party, within the caller address's budget; Refused otherwise."""
        way = way_for(self.identity)
        rp = way.relying_party
        if rp is None:
            raise Refused(403, LOOPBACK_REFUSAL, "passkeys_public_only")
        limited(self.limiter, "passkey", way, "passkey requests")
        return way, RelyingParty(*rp)

    async def _posted(self, request: Request) -> tuple[WayIn, RelyingParty, dict[str, object]]:
        """A POST from the public origin itself: the way in, the relying party and its JSON object."""
        way, rp = self._public()
        if request.headers.get("origin") != rp.origin:
            raise Refused(403, f"passkey requests must come from {rp.origin} itself", "forbidden_origin")
        try:
            body = parse_json(await request.body())
        except PasskeyError as exc:
            raise Refused(400, str(exc)) from None
        if not isinstance(body, dict):
            raise Refused(400, "the request body must be a JSON object")
        return way, rp, body

    def _enrolment(self, token: object, rp: RelyingParty) -> Enrolment:
        if not isinstance(token, str) or not token:
            raise Refused(400, "this page needs the enrolment link's token; start again with “Add a passkey…”")
        try:
            return self.store.passkeys.enrolment(token, rp.origin)
        except PasskeyError as exc:
            raise Refused(400, str(exc), "invalid_enrolment") from None

    def offered(self, approval: PendingApproval) -> bool:
        """Whether the waiting page of `approval` (being rendered now) shows the passkey button."""
        rp = way_for(self.identity).relying_party
        return rp is not None and came_in_remotely(approval) and bool(self.store.passkeys.list(rp[0]))

    label = "your passkey"  # how the waiting page names this way to answer

    def waiting_block(self, approval: PendingApproval, wait: str) -> str:
        """The waiting page's passkey part, or "" (loopback, a local request, or no passkey)."""
        return passkey_block(wait) if self.offered(approval) else ""

    # -- enrolment ---------------------------------------------------------------------------------

    async def enroll_page(self, request: Request) -> Response:
        """GET /passkeys/enroll?t=TOKEN: the page that makes the passkey (our own script runs the ceremony)."""
        try:
            _, rp = self._public()
            enrolment = self._enrolment(request.query_params.get("t"), rp)
        except Refused as exc:
            return message_page("This passkey link cannot be used", exc.description, status=exc.status)
        page = render("passkey_enroll.html", name=enrolment.name, origin=rp.origin, rp_id=rp.rp_id,
                      token=request.query_params.get("t", ""),
                      expires=time.strftime("%H:%M", time.localtime(enrolment.expires_at)))
        return HTMLResponse(page, headers=security_headers(scripts=True))

    async def enroll_options(self, request: Request) -> Response:
        """POST /passkeys/enroll/options `{"t": TOKEN}`: creation options with a fresh challenge."""
        try:
            _, rp, body = await self._posted(request)
            enrolment = self._enrolment(body.get("t"), rp)
            options = self.ceremonies.registration_options(rp, enrolment)
        except Refused as exc:
            return _json_error(exc)
        return Response(options, media_type="application/json", headers={"Cache-Control": "no-store"})

    async def enroll_verify(self, request: Request) -> Response:
        """POST /passkeys/enroll/verify `{"t": TOKEN, "credential": {...}}`: verify and store the passkey."""
        try:
            _, rp, body = await self._posted(request)
            enrolment = self._enrolment(body.get("t"), rp)
            try:
                passkey = self.ceremonies.register(rp, enrolment, body)
            except PasskeyError as exc:
                raise Refused(400, str(exc), "passkey_refused") from None
        except Refused as exc:
            return _json_error(exc)
        log.info("passkey %s (%s) registered for %s", passkey.id, passkey.name, rp.rp_id)
        return JSONResponse({"ok": True, "id": passkey.id, "name": passkey.name}, headers={"Cache-Control": "no-store"})

    # -- approval ----------------------------------------------------------------------------------

    async def approve_options(self, request: Request) -> Response:
        """POST /passkeys/approve/options `{"wait": TOKEN}`: request options, a challenge for this request."""
        try:
            _, rp, body = await self._posted(request)
            found = waiting_remote(self.store, self.signer, body.get("wait"))
            try:
                options = self.ceremonies.authentication_options(rp, found.approval_id)
            except PasskeyError as exc:
                raise Refused(409, str(exc), "no_passkey") from None
        except Refused as exc:
            return _json_error(exc)
        return Response(options, media_type="application/json", headers={"Cache-Control": "no-store"})

    async def approve_verify(self, request: Request) -> Response:
        """POST /passkeys/approve/verify `{"wait": TOKEN, "credential": {...}}`: on success, the answer's session."""
        try:
            way, rp, body = await self._posted(request)
            wait = body.get("wait")
            found = waiting_remote(self.store, self.signer, wait)
            try:
                passkey = self.ceremonies.authenticate(rp, found.approval_id, body)
            except PasskeyError as exc:
                self.store.log_event(EventKind.PASSKEY_REFUSED, found.client_id, str(exc))
                raise Refused(400, str(exc), "passkey_refused") from None
        except Refused as exc:
            return _json_error(exc)
        session = self.store.passkeys.issue("session", found.approval_id, SESSION_TTL, passkey_id=passkey.id)
        response = JSONResponse({"ok": True, "passkey": passkey.name, "next": f"/passkeys/approve?wait={wait}"},
                                headers={"Cache-Control": "no-store"})
        set_cookie(response, way, SESSION_COOKIE, session.hex(), int(SESSION_TTL))
        return response

    def _session(self, request: Request, way: WayIn, found: PendingApproval, *, use: bool) -> str:
        """The passkey id of this request's session cookie (used up when `use`); Refused without a valid one."""
        raw = request.cookies.get(cookie_name(way, SESSION_COOKIE), "")
        try:
            secret = bytes.fromhex(raw)
        except ValueError:
            secret = b""
        if not secret:
            raise Refused(403, "approve with your passkey first (no passkey step was done for this request)",
                          "passkey_required")
        passkeys = self.store.passkeys
        passkey_id = (passkeys.redeem if use else passkeys.peek)("session", found.approval_id, secret)
        if not passkey_id or passkeys.get(passkey_id) is None:
            raise Refused(403, "the passkey step for this request is not valid (expired, used, for another "
                          "request, or its passkey was removed); approve with your passkey again",
                          "passkey_required")
        return passkey_id

    async def choices_page(self, request: Request) -> Response:
        """GET /passkeys/approve?wait=TOKEN: after the passkey step, the same choices as the tray window."""
        try:
            way, _ = self._public()
            found = waiting_remote(self.store, self.signer, request.query_params.get("wait"))
            passkey = self.store.passkeys.get(self._session(request, way, found, use=False))
        except Refused as exc:
            return message_page("Approve with your passkey first", exc.description, status=exc.status)
        assert passkey is not None
        return HTMLResponse(self._render_choices(request, found, passkey.name),
                            headers=security_headers(scripts=True))

    async def answer(self, request: Request) -> Response:
        """POST /passkeys/approve `{"wait", "action": "allow"|"deny", "scopes": [...], "lifetime"}` with the session."""
        try:
            way, _, body = await self._posted(request)
            wait = body.get("wait")
            found = waiting_remote(self.store, self.signer, wait)
            choices = answer_choices(body)  # checked before the session is used up
            passkey = self.store.passkeys.get(self._session(request, way, found, use=True))
            if passkey is None:
                raise Refused(403, "the passkey was removed meanwhile", "passkey_required")
            done = record_answer(self.store, found, choices, f"passkey:{passkey.name}")
        except Refused as exc:
            return _json_error(exc)
        response = JSONResponse({"ok": True, "status": done.status, "next": f"/consent?wait={wait}"},
                                headers={"Cache-Control": "no-store"})
        delete_cookie(response, way, SESSION_COOKIE)
        return response

    @staticmethod
    def _render_choices(request: Request, found: PendingApproval, passkey_name: str) -> str:
        wait = html.escape(request.query_params.get("wait", ""))
        return choices_page(
            found, server=request.headers.get("host", ""),
            signed_in_html=f"Signed in with your passkey <strong>{html.escape(passkey_name)}</strong>",
            form_html=f'<form id="passkey-choices" data-wait="{wait}">',
            script_html='<script src="/static/passkey.js" defer></script>',
            status_html='<p class="passkey-state" id="passkey-state" role="status" aria-live="polite"></p>')


def passkey_block(wait: str) -> str:
    """The waiting page's passkey part (HTML), shown for a remote request when a passkey exists."""
    return (
        f'<section class="passkey" id="passkey" data-wait="{html.escape(wait)}">\n'
        '    <p class="passkey-lead">Away from your desk? Answer here with a passkey you registered for this '
        'server.</p>\n'
        '    <div class="actions">\n'
        '      <button type="button" class="secondary" id="passkey-deny">Deny</button>\n'
        '      <button type="button" class="primary" id="passkey-approve">Approve with your passkey</button>\n'
        '    </div>\n'
        '    <p class="passkey-state" id="passkey-state" role="status" aria-live="polite"></p>\n'
        '  </section>\n'
        '  <script src="/static/passkey.js" defer></script>'
    )
