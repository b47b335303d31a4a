"""Cookies on the public side are Secure and __Host- prefixed; on loopback they cannot be Secure."""

from __future__ import annotations

from starlette.responses import Response

from app.auth.cookies import set_cookie
from app.auth.origins import ServerIdentity, WayIn, parse_public_url


def test_public_cookies_are_secure_host_prefixed() -> None:
    identity = ServerIdentity(8787)
    public = parse_public_url("https://mcp.example.test")
    remote, local = Response(), Response()
    set_cookie(remote, WayIn(public.origin, True, identity, public), "wait", "v", 600)
    set_cookie(local, WayIn("http://127.0.0.1:8787", False, identity), "wait", "v", 600)
    header = remote.headers["set-cookie"]
    assert header.startswith("__Host-wait=v;") and "Secure" in header and "Path=/" in header
    assert "Domain" not in header and "HttpOnly" in header
    assert local.headers["set-cookie"].startswith("wait=v;") and "Secure" not in local.headers["set-cookie"]


def test_the_passkey_hook_names_the_public_relying_party() -> None:
    identity = ServerIdentity(8787)
    public = parse_public_url("https://mcp.example.test:8443")
    assert WayIn(public.origin, True, identity, public).relying_party == (
        "mcp.example.test", "https://mcp.example.test:8443")
    assert WayIn("http://127.0.0.1:8787", False, identity, public).relying_party is None
