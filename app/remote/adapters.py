"""The ingress the settings ask for: the owner's proxy, ngrok, a Cloudflare tunnel or Tailscale Funnel."""

from __future__ import annotations

from pathlib import Path

from app.auth.origins import PublicUrlError, parse_public_url
from app.config import Settings
from app.remote.ingress import Ingress, IngressError, OwnProxy

INGRESS_NAMES = {
    "proxy": "your own reverse proxy (Caddy, nginx, ...)",
    "ngrok": "ngrok",
    "cloudflared": "Cloudflare Tunnel (named, stable hostname)",
    "cloudflared-quick": "Cloudflare quick tunnel (URL changes each run)",
    "tailscale": "Tailscale Funnel",
}


def build_ingress(settings: Settings, data_dir: Path) -> Ingress:
    """A ready-to-start adapter for `settings.ingress`; IngressError when the settings are not enough."""
    try:
        public = parse_public_url(settings.public_url) if settings.public_url.strip() else None
    except PublicUrlError as exc:
        raise IngressError(str(exc), kind="not_configured") from exc
    kind = settings.ingress
    if kind == "proxy":
        proxy = OwnProxy(public)
        if public is None:
            proxy.start("")  # raises the not-configured error now, before anything runs
        return proxy
    if kind == "ngrok":
        from app.remote.ngrok_ingress import NgrokIngress

        return NgrokIngress(data_dir, settings.ngrok_domain)
    if kind == "cloudflared":
        from app.remote.cloudflared import CloudflaredNamed

        if public is None or not settings.cloudflared_tunnel.strip():
            raise IngressError("A named Cloudflare tunnel needs its name and the public URL routed to it.",
                               kind="not_configured", hint="Enter both under Settings > Remote access "
                               "(`cloudflared tunnel list` shows your tunnels).")
        return CloudflaredNamed(settings.cloudflared_tunnel.strip(), public)
    if kind == "cloudflared-quick":
        from app.remote.cloudflared import CloudflaredQuick

        return CloudflaredQuick()
    if kind == "tailscale":
        from app.remote.tailscale import TailscaleFunnel

        return TailscaleFunnel()
    raise IngressError(f"The ingress {settings.ingress!r} is not known.", kind="not_configured")
