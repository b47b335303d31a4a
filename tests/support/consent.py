"""Answer the consent page the way a browser submits its form: GET the page, POST its fields back."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

_INPUT = re.compile(r'<input type="hidden" name="(?P<name>[^"]+)" value="(?P<value>[^"]*)">')


def form_fields(page: str) -> dict[str, str]:
    """The hidden inputs of the consent form."""
    return {m["name"]: html.unescape(m["value"]) for m in _INPUT.finditer(page)}


def answer_consent(authorize_url: str, action: str = "approve") -> str:
    """Follow the authorization URL to the consent page, submit `action`, return the final redirect URL."""
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        response = http.get(authorize_url)
        if response.status_code != 302:
            raise AssertionError(f"/authorize answered {response.status_code}: {response.text[:300]}")
        consent_url = urljoin(authorize_url, response.headers["location"])
        page = http.get(consent_url)
        if page.status_code != 200:
            raise AssertionError(f"consent page answered {page.status_code}: {page.text[:300]}")
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(consent_url))
        posted = http.post(
            urljoin(consent_url, "/consent"),
            data={**form_fields(page.text), "action": action},
            headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"},
        )
        if posted.status_code != 303:
            raise AssertionError(f"consent POST answered {posted.status_code}: {posted.text[:300]}")
        return posted.headers["location"]


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
