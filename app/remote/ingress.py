"""What every ingress adapter offers, its errors, and the simplest one: the owner's own reverse proxy."""

from __future__ import annotations

from typing import Protocol

from app.auth.origins import PublicOrigin


class IngressError(Exception):
    """An ingress could not start; `kind` says which kind of trouble, `hint` what to do about it."""

    def __init__(self, message: str, *, kind: str = "failed", hint: str = "") -> None:
        super().__init__(message)
        self.kind = kind  # "missing_program", "no_auth_token", "offline", "not_configured", "failed"
        self.hint = hint

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} {self.hint}".strip() if self.hint else text


class Ingress(Protocol):
    """A way for the internet to reach the local server, run by an existing engine."""

    name: str
    warning: str  # shown while it runs ("" when there is nothing to warn about)

    def start(self, local_url: str) -> PublicOrigin:
        """Start forwarding the public URL to `local_url`; blocks until it is up. Raises IngressError."""
        ...

    def stop(self) -> None:
        """Stop forwarding (safe to call when it is not running)."""
        ...


class OwnProxy:
    """The owner's reverse proxy (Caddy, nginx, ...): we cannot start it, only answer to its URL."""

    name = "your reverse proxy"
    warning = ""

    def __init__(self, public: PublicOrigin | None) -> None:
        self.public = public

    def start(self, local_url: str) -> PublicOrigin:
        """The configured public URL; the proxy itself runs on its own."""
        if self.public is None:
            raise IngressError("No public URL is set for your reverse proxy.", kind="not_configured",
                               hint="Enter it under Settings > Remote access (https://HOST[:PORT]).")
        return self.public

    def stop(self) -> None:
        """Nothing to stop here: the guard refuses the public host once remote access is off."""
