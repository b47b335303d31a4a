"""Answering a sign-in request on its waiting page, away from the server: what both ways share.

Two ways let an approver answer through the public URL: a passkey (passkey_pages) and, in hosted
mode, signing in at the team's OpenID provider (oidc_pages). They differ in how the approver proves
who they are and how the choices page sends its answer (a script's JSON POST, a plain form); the
rest is here once: which requests may be answered this way, the rate limit, the choices page, the
check of the answer and recording it through `ApprovalDesk`.
"""

from __future__ import annotations

import html
import math
import time

from app.auth.approval import (
    DEFAULT_LIFETIME,
    LIFETIMES,
    ApprovalDesk,
    answer_target,
    basic_scope_lines,
    came_in_remotely,
    client_identity,
    requested_tool_scopes,
)
from app.auth.consent_request import BadConsentRequestError, ConsentSigner
from app.auth.origins import WayIn
from app.auth.pages import render
from app.auth.scopes import OPTIONAL_TOOL_SCOPES
from app.server.ratelimit import RateLimiter
from app.store.rows import PendingApproval
from app.store.store import Store
from app.tools.groups import TOOL_SCOPES


class Refused(Exception):
    """A request of these pages answered with `status` and a sentence."""

    def __init__(self, status: int, description: str, error: str = "invalid_request", retry_after: int = 0) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.error = error
        self.retry_after = retry_after


def limited(limiter: RateLimiter, bucket: str, way: WayIn, what: str) -> None:
    """Take one from the caller address's budget of `bucket`; Refused (429, "Too many WHAT") when it is spent."""
    if limiter.limits.enabled:
        wait = limiter.take(bucket, way.client_address or "?", limiter.limits.passkey_per_address)
        if wait:
            seconds = max(1, math.ceil(wait))
            raise Refused(429, f"Too many {what}; try again in {seconds} s", "too_many_requests", seconds)


def waiting_remote(store: Store, signer: ConsentSigner, wait: object) -> PendingApproval:
    """The request of a waiting page's `wait` token, still waiting and come in through the public URL."""
    if not isinstance(wait, str) or not wait:
        raise Refused(400, "this needs the sign-in request's link (`wait`); start from the waiting page")
    try:
        approval_id = signer.approval_id(wait)
    except BadConsentRequestError as exc:
        raise Refused(400, str(exc)) from None
    found = store.approvals.get(approval_id)
    if found is None:
        raise Refused(400, "no such sign-in request; start connecting from your app again")
    if found.status != "pending" or found.expires_at <= time.time():
        raise Refused(409, "this sign-in request is no longer waiting", "not_pending")
    if not came_in_remotely(found):
        raise Refused(403, "this sign-in request came in on the server itself, not through the public URL; "
                      "answer it there (`mcp-tray approve`, or the MCP Tray window)", "not_remote")
    return found


def answer_choices(body: dict[str, object]) -> tuple[str, list[str], str]:
    """The answer of a choices page: (allow|deny, tool groups, lifetime); Refused (400) for anything else."""
    action = body.get("action")
    if action not in ("allow", "deny"):
        raise Refused(400, "`action` must be `allow` or `deny`")
    raw_scopes = body.get("scopes", [])
    if not isinstance(raw_scopes, list) or not all(isinstance(s, str) for s in raw_scopes):
        raise Refused(400, "`scopes` must be a list of tool groups")
    scopes = [str(s) for s in raw_scopes]
    unknown = sorted(set(scopes) - set(OPTIONAL_TOOL_SCOPES))
    if unknown:
        raise Refused(400, f"not a tool group: {', '.join(unknown)}; choose from {', '.join(OPTIONAL_TOOL_SCOPES)}")
    lifetime = body.get("lifetime", DEFAULT_LIFETIME)
    if not isinstance(lifetime, str) or lifetime not in LIFETIMES:
        raise Refused(400, f"`lifetime` must be one of {', '.join(LIFETIMES)}")
    return str(action), scopes, lifetime


def record_answer(store: Store, found: PendingApproval, choices: tuple[str, list[str], str],
                  approver: str) -> PendingApproval:
    """Allow or deny `found` as `approver` (choices from `answer_choices`); Refused (409) if it stopped waiting."""
    action, scopes, lifetime = choices
    desk = ApprovalDesk(store)
    done = (desk.allow(found.approval_id, scopes, lifetime, approver=approver) if action == "allow"
            else desk.deny(found.approval_id, approver=approver))
    if done is None or done.status not in ("approved", "denied"):
        raise Refused(409, "this sign-in request was answered or expired meanwhile", "not_pending")
    return done


def choices_page(found: PendingApproval, *, server: str, signed_in_html: str, form_html: str,
                 recorded: str = "", script_html: str = "", status_html: str = "") -> str:
    """Who asks, what it asked for, the tool groups (all off) and the lifetime, for an approver who proved
    who they are (`signed_in_html`). Each way sends the answer its own way: `form_html` opens the form,
    `script_html` and `status_html` are the passkey script and its status line."""
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
        "approve_choices.html",
        client_name=identity.name, identity=identity.label,
        identity_class="verified" if identity.verified else "unverified",
        warning_html=(f'<p class="warning">{html.escape(identity.warning)}</p>' if identity.warning else ""),
        signed_in_html=signed_in_html, match_code=found.match_code, approval_id=found.approval_id,
        redirect_host=answer_target(found.redirect_uri), recorded=recorded, server=server,
        form_html=form_html, script_html=script_html, status_html=status_html,
        scope_items_html=basics, groups_html=groups, lifetimes_html=lifetimes,
    )

