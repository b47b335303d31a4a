"""Tailscale Funnel through the owner's `tailscale`: `tailscale funnel --https=443 http://127.0.0.1:PORT`.

Run in the foreground, so stopping the program (Ctrl+C, as its own message says) turns Funnel off
again. The public URL is the machine's `https://NAME.TAILNET.ts.net`, which the command prints.
"""

from __future__ import annotations

import re
import signal

from app.auth.origins import parse_public_url
from app.remote.ingress import IngressError
from app.remote.program import ProgramIngress, Verdict

INSTALL_HINT = "Install Tailscale (tailscale.com/download), sign in with `tailscale up`, then try again."
TS_URL = re.compile(r"^(https://[A-Za-z0-9.-]+\.ts\.net)(:\d+)?/?\s*$")


class TailscaleFunnel(ProgramIngress):
    """Funnel on port 443 of this machine's tailnet name, proxying to the local server."""

    name = "Tailscale Funnel"
    program = "tailscale"
    install_hint = INSTALL_HINT
    stop_signal = signal.SIGINT  # what Ctrl+C sends; tailscale then removes the Funnel it set up

    def argv(self, executable: str, local_url: str) -> list[str]:
        """`tailscale funnel --https=443 LOCAL`."""
        return [executable, "funnel", "--https=443", local_url]

    def read(self, line: str) -> Verdict | None:
        """Up at the ts.net URL it lists; the known refusals get a plain explanation."""
        found = TS_URL.match(line.strip())
        if found:
            return Verdict(parse_public_url(found.group(1) + (found.group(2) or "")))
        lowered = line.lower()
        if "doesn't appear to be running" in lowered or "failed to connect to local tailscaled" in lowered:
            return Verdict(error=IngressError("The Tailscale service (tailscaled) is not running.",
                                              kind="offline", hint="Start it (for example `sudo systemctl "
                                              "start tailscaled`) and sign in with `tailscale up`."))
        if "logged out" in lowered or "needslogin" in lowered or "not logged in" in lowered:
            return Verdict(error=IngressError("Tailscale is not signed in.", kind="no_auth_token",
                                              hint="Sign in with `tailscale up`, then try again."))
        if "funnel is not enabled" in lowered or "login.tailscale.com/f/funnel" in lowered:
            return Verdict(error=IngressError(f"Funnel is not enabled for this tailnet: {line.strip()}",
                                              kind="not_configured",
                                              hint="Enable Funnel in the Tailscale admin console, then try again."))
        return None
