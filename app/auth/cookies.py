"""Cookies for our own pages, by way in: on the public (HTTPS) side always `Secure` and `__Host-`.

A `__Host-` cookie is only accepted by browsers when it is Secure, has Path=/ and no Domain, so a
sibling host under the same domain can neither read nor overwrite it. On loopback (plain http)
browsers refuse Secure cookies, so there the plain name is used.
"""

from __future__ import annotations

from starlette.responses import Response

from app.auth.origins import WayIn


def cookie_name(way: WayIn, name: str) -> str:
    """`__Host-name` on the public side, `name` on loopback."""
    return f"__Host-{name}" if way.secure_cookies else name


def set_cookie(response: Response, way: WayIn, name: str, value: str, max_age: int) -> None:
    """Set a cookie of ours: HttpOnly, SameSite=Lax, Path=/, no Domain; Secure and `__Host-` remotely."""
    response.set_cookie(cookie_name(way, name), value, max_age=max_age, path="/", domain=None,
                        secure=way.secure_cookies, httponly=True, samesite="lax")


def delete_cookie(response: Response, way: WayIn, name: str) -> None:
    """Delete a cookie of ours (the same attributes as `set_cookie`, so the browser matches it)."""
    response.delete_cookie(cookie_name(way, name), path="/", secure=way.secure_cookies, httponly=True,
                           samesite="lax")
