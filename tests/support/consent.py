"""Answer the consent page the way a browser submits its form: GET the page, POST its fields back."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

_INPUT = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)">')
_CHECKBOX = re.compile(r'<input type="checkbox" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)"(?P<checked> checked)?>')


def form_fields(page: str) -> dict[str, str]:
    """The hidden inputs of the consent form."""
    return {m["name"]: html.unescape(m["value"]) for m in _INPUT.finditer(page)}


def checkboxes(page: str) -> dict[str, bool]:
    """The consent form's scope checkboxes (value -> ticked as the page shows it)."""
    return {html.unescape(m["value"]): bool(m["checked"]) for m in _CHECKBOX.finditer(page)}


def answer_consent(authorize_url: str, action: str = "approve", scopes: Iterable[str] | None = None) -> str:
    """Follow the authorization URL to the consent page, submit `action`, return the final redirect URL.

    The scope checkboxes are sent as the page ticks them (as a browser would), or, with `scopes`,
    ticked exactly for those scopes (as a person changing them would).
    """
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        response = http.get(authorize_url)
        if response.status_code != 302:
            raise AssertionError(f"/authorize answered {response.status_code}: {response.text[:300]}")
        consent_url = urljoin(authorize_url, response.headers["location"])
        page = http.get(consent_url)
        if page.status_code != 200:
            raise AssertionError(f"consent page answered {page.status_code}: {page.text[:300]}")
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(consent_url))
        boxes = checkboxes(page.text)
        wanted = [s for s, on in boxes.items() if on] if scopes is None else list(scopes)
        missing = [s for s in wanted if s not in boxes]
        if missing:
            raise AssertionError(f"the consent page has no checkbox for {missing}")
        posted = http.post(
            urljoin(consent_url, "/consent"),
            data={**form_fields(page.text), "action": action, "scope": wanted},
            headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
        )
        if posted.status_code != 303:
            raise AssertionError(f"consent POST answered {posted.status_code}: {posted.text[:300]}")
        return posted.headers["location"]


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
