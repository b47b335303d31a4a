"""The waiting room: the page a client opens while the owner decides, in MCP Tray, whether to allow it.

Nothing on this page can approve. It shows who asks, where the answer goes, what the client asked
for, and a match code that the tray window and `mcp-tray approvals list` show too. The page asks
`/consent/status` whether the owner has answered and then reloads itself; once answered, a GET of
the page's own URL answers 303 to the client's redirect with the code (or `access_denied`), so a
text browser or a script following redirects gets there as well.
"""

from __future__ import annotations

import html
import logging
import time
from collections.abc import Sequence
from typing import Protocol

from mcp.server.auth.provider import construct_redirect_uri
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from app.auth.approval import (
    answer_target,
    basic_scope_lines,
    came_in_remotely,
    client_identity,
    requested_tool_scopes,
)
from app.auth.consent_request import BadConsentRequestError, ConsentSigner
from app.auth.origins import is_loopback_url
from app.auth.pages import message_page, render, security_headers
from app.auth.provider import CODE_TTL
from app.store.rows import PendingApproval
from app.store.store import Store
from app.tools.groups import TOOL_SCOPES

log = logging.getLogger(__name__)

POLL_MS = 1000  # how often the open page asks whether the owner has answered


class AnswerHere(Protocol):
    """A way to answer on the waiting page itself, for remote requests: the passkey (passkey_pages) and,
    in hosted mode, signing in at the OpenID provider (oidc_pages)."""

    @property
    def label(self) -> str:
        """How the page names it: "a passkey", "signing in with Example SSO"."""

    def waiting_block(self, approval: PendingApproval, wait: str) -> str:
        """Its part of the page (HTML), or "" where it is not offered."""


class ConsentEndpoint:
    """GET /consent (the waiting page or, once answered, the 303 onward) and GET /consent/status.

    `window`: the tray app shows the request in its window; headless (`serve`) the owner answers
    with the CLI. The page says so, and names the ways `here` it offers itself.
    """

    def __init__(self, store: Store, signer: ConsentSigner, here: Sequence[AnswerHere] = (), *,
                 window: bool = True) -> None:
        self.store = store
        self.signer = signer
        self.here = tuple(here)
        self.window = window

    def _where_owner_answers(self) -> str:
        return "in the MCP Tray window, or with `mcp-tray approve` in a terminal" if self.window \
            else "with `mcp-tray approve` in a terminal on the server"

    def _approval(self, request: Request) -> PendingApproval | Response:
        token = request.query_params.get("wait")
        if not token:
            return message_page("Nothing to approve", "This page needs a sign-in request; "
                                "start connecting from your app again.", status=400)
        try:
            approval_id = self.signer.approval_id(token)
        except BadConsentRequestError as exc:
            return message_page("This link cannot be used", str(exc), status=400)
        found = self.store.approvals.get(approval_id)
        if found is None:
            return message_page("This link cannot be used", "No such sign-in request; "
                                "start connecting from your app again.", status=400)
        return found

    async def handle(self, request: Request) -> Response:
        """The waiting page, or the client's redirect once the owner has answered."""
        if request.method != "GET":
            return message_page(
                "Approve in MCP Tray", "Nothing on this page can approve a sign-in. Answer the request "
                f"{self._where_owner_answers()}.", status=405)
        found = self._approval(request)
        if isinstance(found, Response):
            return found
        if found.status == "pending" and found.expires_at > time.time():
            return self._waiting_page(request, found)
        return self._onward(found)

    async def status(self, request: Request) -> Response:
        """`{"status": "pending" | "answered"}`: what the open waiting page asks every second."""
        found = self._approval(request)
        if isinstance(found, Response):
            return JSONResponse({"status": "gone"}, status_code=400, headers={"Cache-Control": "no-store"})
        waiting = found.status == "pending" and found.expires_at > time.time()
        return JSONResponse({"status": "pending" if waiting else "answered"}, headers={"Cache-Control": "no-store"})

    def _onward(self, found: PendingApproval) -> Response:
        delivery = self.store.approvals.deliver(found.approval_id, CODE_TTL)
        if delivery is None:  # removed between the two reads
            return message_page("This link cannot be used", "No such sign-in request.", status=400)
        req = found.request
        state = req.get("state")
        issuer = str(req.get("issuer", ""))
        common = {"state": state if isinstance(state, str) else None, "iss": issuer}
        if delivery.status == "approved" and delivery.code is not None:
            log.info("sign-in %s delivered to client %s", found.approval_id, found.client_id)
            target = construct_redirect_uri(found.redirect_uri, code=delivery.code, **common)
        elif delivery.status == "denied":
            target = construct_redirect_uri(found.redirect_uri, error="access_denied",
                                            error_description="The owner of this server denied access", **common)
        elif delivery.status == "expired":
            target = construct_redirect_uri(found.redirect_uri, error="access_denied",
                                            error_description="Nobody approved the request in time", **common)
        else:  # delivered before: the code went out once and never goes out again
            return message_page("Already done", "This sign-in was completed. You can close this tab.",
                                status=200, tone="ok")
        return RedirectResponse(target, status_code=303, headers=security_headers())

    def _waiting_page(self, request: Request, found: PendingApproval) -> Response:
        identity = client_identity(found)
        asked = requested_tool_scopes(found)
        scope_items = "\n".join(
            f"    <li>{html.escape(line)}</li>" for line in basic_scope_lines(found.scopes)
        )
        asked_html = ""
        if asked:
            asked_html = "  <h2>It also asks for</h2>\n  <ul class=\"scopes asked\">\n" + "\n".join(
                f'    <li>{html.escape(TOOL_SCOPES[s].description)}<span class="name">{html.escape(s)}</span></li>'
                for s in asked
            ) + "\n  </ul>\n  <p class=\"note\">These stay off unless you turn them on when you approve.</p>\n"
        where = answer_target(found.redirect_uri)
        note = "an app on this computer" if is_loopback_url(found.redirect_uri) else "another site"
        if came_in_remotely(found):
            note = f"{note}; this request came through the public URL (remote access)"
        if found.listener:
            note = f"{note}; {found.listener}"
        token = request.query_params.get("wait", "")
        offered = [(way.label, block) for way in self.here if (block := way.waiting_block(found, token))]
        label, state, foot = self._how_to_answer([name for name, _ in offered])
        page = render(
            "waiting.html",
            client_name=identity.name,
            identity=identity.label,
            identity_class="verified" if identity.verified else "unverified",
            warning_html=(f'<p class="warning">{html.escape(identity.warning)}</p>' if identity.warning else ""),
            server=request.headers.get("host", ""),
            redirect_host=where,
            redirect_note=note,
            match_code=found.match_code,
            approval_id=found.approval_id,
            scope_items_html=scope_items,
            asked_html=asked_html,
            expires=time.strftime("%H:%M", time.localtime(found.expires_at)),
            status_url=f"/consent/status?wait={token}",
            poll_ms=str(POLL_MS),
            answer_here_html="\n  ".join(block for _, block in offered),
            match_label=label,
            match_state=state,
            foot_lead=foot,
        )
        return HTMLResponse(page, headers=security_headers(scripts=True))

    def _how_to_answer(self, offered: list[str]) -> tuple[str, str, str]:
        """The page's words on who answers where: (the match code's label, the waiting line, the foot's lead)."""
        ways = " or ".join(offered)
        if self.window:
            label = "Approve it in the MCP Tray window that just opened, if it shows the same code"
            state = "Waiting for you to answer in MCP Tray…"
            terminal = "No MCP Tray window? In a terminal:"
        else:
            label = (f"Approve it below ({ways}), or on the server with `mcp-tray approve` and this code"
                     if offered else "Approve it on the server with `mcp-tray approve` and this code")
            state = "Waiting for an answer…"
            terminal = "On the server, in a terminal:"
        lead = (f"Apart from the answer above ({ways}), nothing on this page can approve." if offered
                else "Nothing on this page can approve.")
        return label, state, f"{lead} {terminal}"
