"""Remote access: reach the server through a public HTTPS URL, served by an existing engine.

`access.RemoteAccess` turns it on and off (and off again by itself after a chosen time); the
ingress adapters run ngrok (its Python SDK, in process), `cloudflared` or `tailscale`, or rely on
the owner's own reverse proxy. No Qt here, and no home-made tunnel.
"""
