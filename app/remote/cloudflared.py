"""Cloudflare Tunnel through the owner's `cloudflared`: a named tunnel (stable hostname) or a quick one.

Named: `cloudflared tunnel --no-autoupdate run --url http://127.0.0.1:PORT NAME`, set up beforehand
with `cloudflared tunnel login / create / route dns` for the hostname in the public URL. Quick:
`cloudflared tunnel --no-autoupdate --url http://127.0.0.1:PORT`, which prints a new
https://….trycloudflare.com URL each run.
"""

from __future__ import annotations

import re

from app.auth.origins import PublicOrigin, parse_public_url
from app.remote.ingress import IngressError
from app.remote.program import OFFLINE_WORDS, ProgramIngress, Verdict

INSTALL_HINT = ("Install cloudflared from Cloudflare's package repository or its releases page "
                "(developers.cloudflare.com > Cloudflare Tunnel > Downloads), then try again.")
QUICK_URL = re.compile(r"https://[a-z0-9-]+\.trycloudflare\.com")
REGISTERED = "Registered tunnel connection"
QUICK_WARNING = ("A quick tunnel gets a new URL each time it starts: clients must be set up with the new "
                 "URL and sign in again after every start. Use a named tunnel for a stable hostname.")


class _Cloudflared(ProgramIngress):
    program = "cloudflared"
    install_hint = INSTALL_HINT

    def _trouble(self, line: str) -> Verdict | None:
        lowered = line.lower()
        if " err " in f" {lowered} " and any(w in lowered for w in OFFLINE_WORDS):
            return Verdict(error=IngressError(f"cloudflared could not reach Cloudflare ({line.strip()}). "
                                              "Is this computer online?", kind="offline"))
        if "cannot determine default origin certificate" in lowered or ("cert.pem" in lowered and "err" in lowered):
            return Verdict(error=IngressError("cloudflared is not signed in to Cloudflare.", kind="no_auth_token",
                                              hint="Run `cloudflared tunnel login` once, then try again."))
        if "credentials file" in lowered and ("not found" in lowered or "doesn't exist" in lowered):
            return Verdict(error=IngressError(f"cloudflared has no credentials for this tunnel ({line.strip()}).",
                                              kind="no_auth_token",
                                              hint="Create it with `cloudflared tunnel create NAME`."))
        return None


class CloudflaredNamed(_Cloudflared):
    """A named tunnel, whose DNS route points the public hostname at it."""

    name = "Cloudflare Tunnel"

    def __init__(self, tunnel: str, public: PublicOrigin) -> None:
        super().__init__()
        self.tunnel = tunnel
        self.public = public

    def argv(self, executable: str, local_url: str) -> list[str]:
        """`cloudflared tunnel --no-autoupdate run --url LOCAL NAME`."""
        return [executable, "tunnel", "--no-autoupdate", "run", "--url", local_url, self.tunnel]

    def read(self, line: str) -> Verdict | None:
        """Up once the first connection to Cloudflare's edge is registered."""
        if REGISTERED in line:
            return Verdict(self.public)
        return self._trouble(line)


class CloudflaredQuick(_Cloudflared):
    """A quick tunnel on trycloudflare.com, to try remote access with no Cloudflare account."""

    name = "Cloudflare quick tunnel"
    warning = QUICK_WARNING

    def __init__(self) -> None:
        super().__init__()
        self._url: PublicOrigin | None = None

    def argv(self, executable: str, local_url: str) -> list[str]:
        """`cloudflared tunnel --no-autoupdate --url LOCAL`."""
        return [executable, "tunnel", "--no-autoupdate", "--url", local_url]

    def read(self, line: str) -> Verdict | None:
        """The URL comes first (in a box of log lines), then the registered connection."""
        found = QUICK_URL.search(line)
        if found and self._url is None and "api.trycloudflare.com" not in found.group(0):
            self._url = parse_public_url(found.group(0))
        if "failed to request quick tunnel" in line.lower():
            kind = "offline" if any(w in line.lower() for w in OFFLINE_WORDS) else "failed"
            return Verdict(error=IngressError(f"cloudflared could not get a quick tunnel ({line.strip()}).",
                                              kind=kind))
        if REGISTERED in line and self._url is not None:
            return Verdict(self._url)
        return self._trouble(line)
