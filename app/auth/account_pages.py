"""`/account`: after signing in at the provider, a person's own grants, each with a revoke button.

An admin (`--admin-email`) sees and revokes every grant. The page needs the account session the
callback sets (`/oidc/login?next=account`); revoking is a form POST from the public origin with
the session's CSRF token, like the approval.
"""

from __future__ import annotations

import html
import time

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from app.auth.cookies import cookie_name
from app.auth.oidc_pages import SESSION_COOKIE, OidcEndpoints, csrf_token
from app.auth.pages import message_page, render, security_headers
from app.auth.user_grants import grants, tokens_of
from app.auth.waiting_answer import Refused
from app.store.rows import TokenRow


def _when(ts: float | None) -> str:
    return "never" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


class AccountPages:
    """GET /account and POST /account/revoke."""

    def __init__(self, endpoints: OidcEndpoints) -> None:
        self.endpoints = endpoints

    def _visible(self, email: str) -> list[TokenRow]:
        admin = self.endpoints.settings.is_admin(email)
        return grants(tokens_of(self.endpoints.store, None if admin else email))

    async def page(self, request: Request) -> Response:
        """The signed-in person's grants (an admin's: everyone's)."""
        ep = self.endpoints
        try:
            way = ep.public_way()
        except Refused as exc:
            return message_page("Cannot show this here", exc.description, status=exc.status)
        try:
            email = ep.session(request, way, "account")
        except Refused:
            return RedirectResponse("/oidc/login?next=account", status_code=303, headers=security_headers())
        raw = request.cookies.get(cookie_name(way, SESSION_COOKIE), "")
        csrf = csrf_token(ep.signer, raw)
        admin = ep.settings.is_admin(email)
        rows = self._visible(email)
        items = "\n".join(self._item(t, csrf, admin) for t in rows) or (
            '    <li><span class="empty">No live sign-ins.</span></li>')
        revoked = request.query_params.get("revoked", "")
        notice = f'<p class="note" id="notice">Revoked {html.escape(revoked)}.</p>' if revoked else ""
        page = render("account.html", title="Every sign-in (admin)" if admin else "Your sign-ins",
                      provider=ep.settings.provider_name, email=email, grants_html=items, notice_html=notice,
                      server=request.headers.get("host", ""))
        return HTMLResponse(page, headers=security_headers())

    @staticmethod
    def _item(token: TokenRow, csrf: str, admin: bool) -> str:
        who = f'<span class="note">approved by {html.escape(token.approver or "?")}</span>' if admin else ""
        return (
            f'    <li data-grant="{html.escape(token.grant_id)}">'
            f'<span><strong>{html.escape(token.client_name)}</strong>'
            f' <span class="name">{html.escape(" ".join(token.scopes))}</span></span>'
            '<form method="post" action="/account/revoke">'
            f'<input type="hidden" name="csrf" value="{html.escape(csrf)}">'
            f'<input type="hidden" name="grant" value="{html.escape(token.grant_id)}">'
            '<button type="submit" class="secondary">Revoke</button></form>'
            f'<span class="note">since {_when(token.created_at)}, until {_when(token.expires_at)}, '
            f'last used {_when(token.last_used_at)}</span>{who}</li>'
        )

    async def revoke(self, request: Request) -> Response:
        """POST /account/revoke (form: grant, csrf): revoke one of the grants this person may see."""
        ep = self.endpoints
        try:
            way = ep.public_way()
            form = ep.checked_form(request, way, await request.body())
            email = ep.session(request, way, "account")
            grant_id = (form.get("grant") or [""])[0]
            if grant_id not in {t.grant_id for t in self._visible(email)}:
                raise Refused(404, "no such live sign-in among yours", "not_found")
            ep.store.revoke_grant(grant_id, f"revoked by {email} on /account")
        except Refused as exc:
            return message_page("Not revoked", exc.description, status=exc.status)
        return RedirectResponse(f"/account?revoked={grant_id[:8]}", status_code=303, headers=security_headers())
