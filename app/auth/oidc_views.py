"""The HTML of the OpenID Connect approval: the waiting page's sign-in part and the choices page."""

from __future__ import annotations

import base64
import html
from urllib.parse import quote

from app.auth.approval import (
    DEFAULT_LIFETIME,
    LIFETIMES,
    answer_target,
    basic_scope_lines,
    client_identity,
    requested_tool_scopes,
)
from app.auth.consent_request import ConsentSigner
from app.auth.pages import render
from app.auth.scopes import OPTIONAL_TOOL_SCOPES
from app.store.rows import PendingApproval
from app.tools.groups import TOOL_SCOPES


def csrf_token(signer: ConsentSigner, session_cookie: str) -> str:
    """The form token of one session: only a page this server rendered for that session has it."""
    return base64.urlsafe_b64encode(signer.mac("oidc-csrf", session_cookie.encode())).rstrip(b"=").decode()


def oidc_block(provider: str, wait: str) -> str:
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


def choices_page(found: PendingApproval, wait: str, email: str, provider: str, csrf: str, server: str) -> str:
    """Who asks, what it asked for, the tool groups (all off) and the lifetime; a plain form."""
    identity = client_identity(found)
    asked = set(requested_tool_scopes(found))
    groups = "\n".join(
        f'    <label><input type="checkbox" name="scope" value="{html.escape(s)}">'
        f'<span>{html.escape(TOOL_SCOPES[s].description)}<span class="name">{html.escape(s)}</span></span>'
        f'<span class="hint">{"The app asked for this." if s in asked else "Not asked for."}</span></label>'
        for s in OPTIONAL_TOOL_SCOPES
    )
    lifetimes = "\n".join(
        f'      <option value="{key}"{" selected" if key == DEFAULT_LIFETIME else ""}>{html.escape(label)}</option>'
        for key, (label, _) in LIFETIMES.items()
    )
    basics = "\n".join(f"    <li>{html.escape(line)}</li>" for line in basic_scope_lines(found.scopes))
    return render(
        "oidc_choices.html",
        client_name=identity.name, identity=identity.label,
        identity_class="verified" if identity.verified else "unverified",
        warning_html=(f'<p class="warning">{html.escape(identity.warning)}</p>' if identity.warning else ""),
        provider=provider, email=email, match_code=found.match_code, approval_id=found.approval_id,
        redirect_host=answer_target(found.redirect_uri), server=server, wait=wait, csrf=csrf,
        scope_items_html=basics, groups_html=groups, lifetimes_html=lifetimes,
    )
