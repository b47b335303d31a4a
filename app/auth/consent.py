"""The consent page: who asks, where the answer goes, what it may do; Approve or Deny (C1-C5).

GET shows the signed request; POST takes the answer, checked against a CSRF token tied to that
request and the Origin of the form. A request can be answered once. Deny returns `access_denied`.
"""

from __future__ import annotations

import html
import logging
import time
from urllib.parse import urlsplit

from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.auth.consent_request import BadConsentRequestError, ConsentRequest, ConsentSigner
from app.auth.origins import ServerIdentity, is_loopback_url, way_for
from app.auth.pages import message_page, render, security_headers
from app.auth.provider import CODE_TTL
from app.auth.scopes import DEFAULT_SCOPE, OPTIONAL_TOOL_SCOPES, describe
from app.store.store import ConsentAlreadyAnsweredError, Store
from app.tools.groups import TOOL_SCOPES
from app.tools.registry import ToolRegistry

log = logging.getLogger(__name__)


def _redirect_target(uri: str) -> tuple[str, str]:
    """What the page shows of a redirect URI (host and port), and the origin for form-action."""
    parts = urlsplit(uri)
    if parts.scheme in ("http", "https"):
        port = parts.port or (443 if parts.scheme == "https" else 80)
        host = parts.hostname or ""
        shown = f"[{host}]" if ":" in host else host
        return f"{shown}:{port}", f"{parts.scheme}://{parts.netloc}"
    return f"{parts.scheme}://{parts.netloc}{parts.path}", f"{parts.scheme}:"


class ConsentEndpoint:
    """GET and POST /consent."""

    def __init__(self, store: Store, signer: ConsentSigner, identity: ServerIdentity,
                 tools: ToolRegistry | None = None) -> None:
        self.store = store
        self.signer = signer
        self.identity = identity
        self.tools = tools

    def _tool_choices(self, requested: tuple[str, ...], remote: bool = False) -> str:
        """A checkbox per optional tool group, ticked when the client asked for it (the person decides).

        A request through the public URL starts with none ticked: remote grants get only the basic
        tools unless the owner ticks more.
        """
        items = []
        rows = self.tools.rows() if self.tools is not None else []
        for scope in OPTIONAL_TOOL_SCOPES:
            group = TOOL_SCOPES[scope]
            names = [r.name for r in rows if r.scope == scope and r.enabled and r.error is None]
            if self.tools is None:
                which = ""
            elif names:
                which = "Tools: " + ", ".join(names)
            else:
                which = "No tool of this kind is turned on in MCP Tray right now"
            checked = " checked" if scope in requested and not remote else ""
            items.append(
                f'      <label><input type="checkbox" name="scope" value="{html.escape(scope)}"{checked}>'
                f'<span>{html.escape(group.description)} <span class="name">{html.escape(scope)}</span></span>'
                f'<span class="hint">{html.escape(which)}</span></label>'
            )
        return ('    <fieldset class="choices">\n      <legend>Also allow these tools?</legend>\n'
                + "\n".join(items) + "\n    </fieldset>")

    async def handle(self, request: Request) -> Response:
        """Route by method."""
        if request.method == "POST":
            return await self._answer(request)
        return self._show(request)

    def _load(self, text: str | None) -> ConsentRequest | Response:
        if not text:
            return message_page("Nothing to approve", "This page needs a consent request; "
                                "start connecting from your app again.", status=400)
        try:
            return self.signer.verify(text)
        except BadConsentRequestError as exc:
            return message_page("This link cannot be used", str(exc), status=400)

    def _show(self, request: Request) -> Response:
        pending = self._load(request.query_params.get("request"))
        if isinstance(pending, Response):
            return pending
        info = self.store.client_info(pending.client_id)
        if info is None:
            return message_page("Unknown app", "The app asking for access is no longer registered.", status=400)
        shown_host, form_target = _redirect_target(pending.redirect_uri)
        on_this_computer = is_loopback_url(pending.redirect_uri)
        note = '<span class="note">an app on this computer</span>' if on_this_computer else ""
        scope_items = "\n".join(
            f'    <li>{html.escape(describe(s))}<span class="name">{html.escape(s)}</span></li>'
            for s in pending.scopes if s not in TOOL_SCOPES
        ) or f'    <li>{html.escape(describe(DEFAULT_SCOPE))}</li>'
        issued = info.get("client_id_issued_at")
        registered = time.strftime("%Y-%m-%d %H:%M", time.localtime(issued)) if isinstance(issued, int) else "?"
        page = render(
            "consent.html",
            client_name=str(info.get("client_name") or "An unnamed app"),
            server=self._server_label(request),
            redirect_host=shown_host,
            redirect_note_html=note,
            client_id=pending.client_id,
            registered=registered,
            scope_items_html=scope_items,
            request=request.query_params.get("request", ""),
            csrf_token=self.signer.csrf_token(pending),
            tool_choices_html=self._tool_choices(pending.scopes, pending.remote),
        )
        return HTMLResponse(page, headers=security_headers(form_target))

    @staticmethod
    def _server_label(request: Request) -> str:
        return request.headers.get("host", "")

    def _same_origin(self, request: Request) -> bool:
        """The form must come from our own page: Origin (when sent) names us, and no cross-site fetch."""
        if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True
        try:
            parts = urlsplit(origin)
            port = parts.port
        except ValueError:
            return False
        return way_for(self.identity).own_origin((parts.hostname or "").lower(), parts.scheme, port)

    async def _answer(self, request: Request) -> Response:
        if not self._same_origin(request):
            return message_page("Not allowed", "The answer did not come from this server's consent page.",
                                status=403)
        form = await request.form()
        text, csrf, action = (form.get(k) for k in ("request", "csrf_token", "action"))
        pending = self._load(text if isinstance(text, str) else None)
        if isinstance(pending, Response):
            return pending
        if not isinstance(csrf, str) or not self.signer.check_csrf(pending, csrf):
            return message_page("Not allowed", "The form's security token is missing or wrong; "
                                "reload the consent page and try again.", status=403)
        if action not in ("approve", "deny"):
            return message_page("No answer", "Choose Allow access or Deny.", status=400)
        if self.store.client_info(pending.client_id) is None:
            return message_page("Unknown app", "The app asking for access is no longer registered.", status=400)
        try:
            if action == "deny":
                self.store.deny(nonce=pending.nonce, client_id=pending.client_id)
                target = construct_redirect_uri(
                    pending.redirect_uri, error="access_denied",
                    error_description="The user denied access", state=pending.state, iss=pending.issuer,
                )
            else:
                # Tool groups are granted by their checkboxes, whatever the client asked for.
                ticked = {v for v in form.getlist("scope") if isinstance(v, str)}
                granted = tuple(s for s in pending.scopes if s not in TOOL_SCOPES) + tuple(
                    s for s in OPTIONAL_TOOL_SCOPES if s in ticked) or (DEFAULT_SCOPE,)
                code = self.store.approve(
                    nonce=pending.nonce,
                    client_id=pending.client_id,
                    scopes=granted,
                    resource=pending.resource,
                    redirect_uri=pending.redirect_uri,
                    redirect_explicit=pending.redirect_explicit,
                    code_challenge=pending.code_challenge,
                    code_ttl=CODE_TTL,
                    remote=pending.remote,
                )
                target = construct_redirect_uri(pending.redirect_uri, code=code, state=pending.state,
                                                iss=pending.issuer)
        except ConsentAlreadyAnsweredError:
            return message_page("Already answered", "This request was answered before. "
                                "Start connecting from your app again if you need to.", status=400)
        log.info("consent %s for client %s", action, pending.client_id)
        headers = security_headers()
        return RedirectResponse(target, status_code=303, headers=headers)
