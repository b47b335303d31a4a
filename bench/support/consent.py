"""Go through sign-in as a client's browser and the owner would: open the waiting page, answer as the owner.

The browser part follows /authorize to the waiting page and reads its match code; the owner part
answers with `mcp-tray approve CODE` / `deny CODE` (bench/support/owner.py); then the browser part
loads the waiting page again, which now answers 303 to the client's redirect.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx

from bench.support import owner

_MATCH_CODE = re.compile(r'id="match-code">(?P<code>[A-Z0-9-]+)<')


def match_code(page: str) -> str:
    """The match code a waiting page shows."""
    found = _MATCH_CODE.search(page)
    if found is None:
        raise AssertionError(f"no match code on the page: {page[:300]}")
    return found["code"]


def open_waiting_page(http: httpx.Client, authorize_url: str) -> tuple[str, str]:
    """GET /authorize and follow it to the waiting page; (its URL, its match code)."""
    response = http.get(authorize_url)
    if response.status_code != 302:
        raise AssertionError(f"/authorize answered {response.status_code}: {response.text[:300]}")
    waiting_url = urljoin(authorize_url, response.headers["location"])
    page = http.get(waiting_url)
    if page.status_code != 200:
        raise AssertionError(f"waiting page answered {page.status_code}: {page.text[:300]}")
    return waiting_url, match_code(page.text)


def collect(http: httpx.Client, waiting_url: str) -> str:
    """Load the waiting page after the owner answered: the 303 onward, as a browser would follow it."""
    onward = http.get(waiting_url)
    if onward.status_code != 303:
        raise AssertionError(f"waiting page answered {onward.status_code} after the answer: {onward.text[:300]}")
    return str(onward.headers["location"])


def wait_for_answer(http: httpx.Client, waiting_url: str, timeout: float = 120) -> str:
    """Keep loading the waiting page, as its script does, until the owner answers elsewhere; the redirect."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = http.get(waiting_url)
        if page.status_code == 303:
            return str(page.headers["location"])
        if page.status_code != 200:
            raise AssertionError(f"waiting page answered {page.status_code}: {page.text[:300]}")
        time.sleep(0.3)
    raise AssertionError("nobody answered the sign-in request in time")


def answer_consent(authorize_url: str, action: str = "approve", scopes: Iterable[str] | None = None,
                   *, data_dir: Path | None = None, lifetime: str = "30d") -> str:
    """Open the waiting page, answer as the owner, return the redirect URL the page then sends the browser to.

    `scopes`: the tool groups the owner turns on (default: the ones the client asked for).
    """
    where = data_dir or owner.data_dir_for(authorize_url)
    with httpx.Client(follow_redirects=False, timeout=10) as http:
        waiting_url, code = open_waiting_page(http, authorize_url)
        owner.answer(where, code, action, None if scopes is None else list(scopes), lifetime)
        return collect(http, waiting_url)


def query_of(url: str) -> dict[str, str]:
    """The query parameters of a URL, one value each."""
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
