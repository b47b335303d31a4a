"""ngrok through its official Python agent SDK (`ngrok` on PyPI), in process: no program to install.

The auth token comes from the OS keyring (Settings > Remote access saves it there). A reserved
domain, when the owner has one, gives a stable URL; without one ngrok picks a new URL each run.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from app.auth.origins import PublicOrigin, PublicUrlError, parse_public_url
from app.remote.ingress import IngressError
from app.secrets.keyring_store import read_text

log = logging.getLogger(__name__)

AUTH_TOKEN_SECRET = "ngrok-authtoken"
TOKEN_HINT = ("Copy your auth token from the ngrok dashboard (Getting Started > Your Authtoken) into "
              "Settings > Remote access; it is kept in the OS keyring.")
CHANGING_URL = ("Without a reserved domain ngrok gives a new URL each run: clients must be set up and "
                "sign in again after every start.")


def explain(exc: BaseException) -> IngressError:
    """The SDK's error as an IngressError that says what to do."""
    text = " ".join(str(a) for a in getattr(exc, "args", ()) if a) or str(exc)
    lowered = text.lower()
    if "err_ngrok_105" in lowered or "authtoken" in lowered or "authentication failed" in lowered:
        return IngressError(f"ngrok refused the auth token ({text}).", kind="no_auth_token", hint=TOKEN_HINT)
    if any(w in lowered for w in ("tcp connection", "dns", "resolve", "lookup", "network", "timed out", "connect")):
        return IngressError(f"ngrok could not reach its service ({text}). Is this computer online?",
                            kind="offline")
    return IngressError(f"ngrok did not start: {text}")


class NgrokIngress:
    """A forwarding listener of the ngrok agent SDK, from the public URL to the local server."""

    name = "ngrok"

    def __init__(self, data_dir: Path, domain: str = "", token: str | None = None) -> None:
        self.data_dir = data_dir
        self.domain = domain.strip()
        self._token = token  # tests may pass one; the app reads the keyring
        self._listener: Any = None
        self.warning = "" if self.domain else CHANGING_URL

    def start(self, local_url: str) -> PublicOrigin:
        """`ngrok.forward(local_url, authtoken=..., domain=...)`; blocks until ngrok answers."""
        try:
            import ngrok
        except ImportError as exc:
            raise IngressError("The ngrok SDK is not installed.", kind="missing_program",
                               hint="Install it with: pip install 'mcp-tray[remote]' (or pip install ngrok).") from exc
        token = self._token if self._token is not None else read_text(AUTH_TOKEN_SECRET, self.data_dir)
        if not token:
            raise IngressError("ngrok needs an auth token, and none is saved.", kind="no_auth_token",
                               hint=TOKEN_HINT)
        options: dict[str, object] = {"authtoken": token, "proto": "http"}
        if self.domain:
            options["domain"] = self.domain
        forward: Any = ngrok.forward  # its stub and its runtime disagree on the second parameter
        try:
            self._listener = forward(local_url, **options)
        except Exception as exc:
            log.warning("ngrok.forward failed: %s", exc)
            raise explain(exc) from exc
        url = str(self._listener.url())
        try:
            return parse_public_url(url)
        except PublicUrlError as exc:
            self.stop()
            raise IngressError(f"ngrok gave an unexpected URL {url!r}: {exc}") from exc

    def stop(self) -> None:
        """Close the listener (ngrok.disconnect of its URL)."""
        listener, self._listener = self._listener, None
        if listener is None:
            return
        import ngrok

        try:
            ngrok.disconnect(listener.url())
        except Exception as exc:
            log.warning("closing the ngrok listener failed: %s", exc)
