"""HTML pages the browser sees (consent, errors), with the headers that keep them safe."""

from __future__ import annotations

import html
from functools import cache
from string import Template

from starlette.responses import HTMLResponse

from app.resources import read_text


@cache
def _template(name: str) -> Template:
    return Template(read_text("web", name))


def security_headers(form_targets: str = "", *, scripts: bool = False) -> dict[str, str]:
    """No framing (C3), no caching, no referrer to other sites, and a tight content policy.

    `scripts`: the page may run our own script file and ask this server (never inline code).
    """
    form_action = "'self'" + (f" {form_targets}" if form_targets else "")
    script = "script-src 'self'; connect-src 'self'; " if scripts else ""
    return {
        "X-Frame-Options": "DENY",
        "Content-Security-Policy": (
            f"default-src 'none'; style-src 'self'; img-src 'self'; {script}"
            f"form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "Cache-Control": "no-store",
        "Pragma": "no-cache",
        # same-origin, not no-referrer: with no-referrer a browser sends `Origin: null` on the
        # consent form POST, which the Origin check (T1) must refuse. Nothing leaves this origin.
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
    }


def render(name: str, /, **values: str) -> str:
    """Fill a template; every value is HTML-escaped unless its name ends in `_html`."""
    safe = {k.removesuffix("_html"): (v if k.endswith("_html") else html.escape(v)) for k, v in values.items()}
    return _template(name).substitute(safe)


def message_page(title: str, message: str, *, status: int, tone: str = "error", extra_html: str = "") -> HTMLResponse:
    """A plain page for errors and outcomes the user must read (never a traceback)."""
    body = render("message.html", title=title, message=message, tone=tone, extra_html=extra_html)
    return HTMLResponse(body, status_code=status, headers=security_headers())
