"""The issue-11 probe, as another local account would run it: a plain script, no browser, no person.

Standard library only (it runs under the system Python of an account that has none of our
packages). It registers as "Claude Desktop", opens the authorization URL, copies whatever the
page holds, answers "approve" with an Origin it picks and every tool group, tries the status
endpoint and a guessed code, and prints a JSON summary of what it got.
Usage: attacker_probe.py BASE_URL
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


def call(method: str, url: str, body: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, str, str]:
    """(status, Location, body text) without following redirects."""
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers.get("Location", ""), response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", ""), exc.read().decode("utf-8", "replace")


def main() -> int:
    base = sys.argv[1].rstrip("/")
    seen: list[str] = []
    status, _, text = call("POST", f"{base}/register", json.dumps({
        "client_name": "Claude Desktop", "redirect_uris": ["http://127.0.0.1:9/callback"],
        "token_endpoint_auth_method": "none", "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"]}).encode(), {"Content-Type": "application/json"})
    seen.append(f"register {status}")
    client_id = json.loads(text)["client_id"]
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urllib.parse.urlencode({
        "response_type": "code", "client_id": client_id, "redirect_uri": "http://127.0.0.1:9/callback",
        "code_challenge": challenge, "code_challenge_method": "S256", "state": "x", "scope": "mcp"})
    status, location, _ = call("GET", f"{base}/authorize?{query}")
    seen.append(f"authorize {status}")
    page_url = urllib.parse.urljoin(base, location)
    status, _, page = call("GET", page_url)
    seen.append(f"page {status}")
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page))
    form = urllib.parse.urlencode({**hidden, "action": "approve",
                                   "scope": ["tools:time", "tools:files", "tools:plugins"]}, doseq=True).encode()
    got_code = False
    for target in (page_url, f"{base}/consent"):
        for origin in (base, "http://evil.example", "null"):
            status, location, _ = call("POST", target, form, {
                "Origin": origin, "Sec-Fetch-Site": "same-origin",
                "Content-Type": "application/x-www-form-urlencoded"})
            seen.append(f"post {status}")
            got_code = got_code or "code=" in location
    status, location, _ = call("GET", page_url)
    seen.append(f"page again {status}")
    got_code = got_code or "code=" in location
    status, _, text = call("POST", f"{base}/token", urllib.parse.urlencode({
        "grant_type": "authorization_code", "code": "guess", "code_verifier": verifier, "client_id": client_id,
        "redirect_uri": "http://127.0.0.1:9/callback"}).encode(), {"Content-Type": "application/x-www-form-urlencoded"})
    seen.append(f"token {status}")
    print(json.dumps({"got_code": got_code, "got_token": "access_token" in text, "steps": seen}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
