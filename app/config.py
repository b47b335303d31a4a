"""Where MCP Tray keeps its files, and the user's settings (a small JSON file in the data dir)."""

from __future__ import annotations

import ipaddress
import json
import logging
import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

import platformdirs

from app import APP_NAME
from app.permissions import make_private

log = logging.getLogger(__name__)

DATA_DIR_ENV = "MCP_TRAY_DATA_DIR"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8787
INGRESS_KINDS = ("proxy", "ngrok", "cloudflared", "cloudflared-quick", "tailscale")
AUTO_OFF_CHOICES = ("8h", "midnight", "never")


def resolve_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The data dir: `--data-dir`, else `$MCP_TRAY_DATA_DIR`, else the platform's user data dir.

    Created 0700, and made private (0700, its files 0600) when it exists; UnsafePathError when
    it belongs to another account or others can write to it.
    """
    raw = explicit or os.environ.get(DATA_DIR_ENV) or platformdirs.user_data_dir(APP_NAME, appauthor=False)
    path = Path(raw).expanduser().resolve()
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    make_private(path, "logs")
    return path


def log_dir(data_dir: Path) -> Path:
    """Logs live beside the data when a data dir was given, else in the platform log dir."""
    if os.environ.get(DATA_DIR_ENV) or data_dir != Path(
        platformdirs.user_data_dir(APP_NAME, appauthor=False)
    ).resolve():
        path = data_dir / "logs"
    else:
        path = Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    make_private(path)
    return path


def read_json_object(path: Path) -> dict[str, Any] | None:
    """The JSON object in a small file of ours; None when missing, unreadable or not an object (logged)."""
    try:
        raw: Any = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        log.warning("ignoring unreadable %s: %s", path, exc)
        return None
    return raw if isinstance(raw, dict) else None


def write_json_atomically(path: Path, body: object) -> None:
    """Write a small JSON file of ours so a crash leaves the old file or the new one, never half.

    The file is the owner's only (0600), whatever the umask of the process that writes it.
    """
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(body, indent=2) + "\n")
    os.chmod(tmp, 0o600)  # an old .tmp left by a crash keeps its mode through O_CREAT
    os.replace(tmp, path)


def _is_network(value: object) -> bool:
    if not isinstance(value, str):
        return False
    try:
        ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        log.warning("ignoring trusted proxy %r in settings.json: not an IP address or network", value)
        return False
    return True


@dataclass
class Settings:
    """What the user can change; stored as settings.json in the data dir."""

    port: int = DEFAULT_PORT
    access_token_ttl: int = 3600  # seconds
    refresh_token_ttl: int = 30 * 24 * 3600  # seconds
    start_server_on_launch: bool = True
    start_at_login: bool = False
    # Remote access (docs/REMOTE.md): off until the owner starts it; these say how it runs then.
    public_url: str = ""  # https://HOST[:PORT] the proxy or tunnel serves us on ("" for a quick tunnel)
    trusted_proxies: list[str] = field(default_factory=list)  # proxy addresses; empty: loopback
    ingress: str = "proxy"  # one of INGRESS_KINDS
    remote_auto_off: str = "8h"  # one of AUTO_OFF_CHOICES
    ngrok_domain: str = ""  # a reserved ngrok domain, if the owner has one
    cloudflared_tunnel: str = ""  # the name of a named Cloudflare tunnel
    audit_max_days: int = 30  # the audit log of tool calls keeps this many days...
    audit_max_rows: int = 100_000  # ...and at most this many rows
    ask_timeout: int = 60  # seconds a call waits for the owner's answer before it fails
    max_held_per_grant: int = 5  # calls one sign-in may have waiting for the owner at once

    @classmethod
    def load(cls, data_dir: Path) -> Settings:
        """Read settings.json; unknown keys are ignored and a broken file falls back to defaults."""
        raw = read_json_object(data_dir / "settings.json")
        if raw is None:
            return cls()
        known = {f.name: f.type for f in fields(cls)}
        defaults = cls()
        values: dict[str, Any] = {}
        for name in known:
            value = raw.get(name, getattr(defaults, name))
            if type(value) is not type(getattr(defaults, name)):
                value = getattr(defaults, name)
            values[name] = value
        settings = cls(**values)
        settings.trusted_proxies = [p for p in settings.trusted_proxies if _is_network(p)]
        if settings.ingress not in INGRESS_KINDS:
            settings.ingress = defaults.ingress
        if settings.remote_auto_off not in AUTO_OFF_CHOICES:
            settings.remote_auto_off = defaults.remote_auto_off
        if not 1 <= settings.port <= 65535:
            settings.port = DEFAULT_PORT
        settings.access_token_ttl = max(60, settings.access_token_ttl)
        settings.refresh_token_ttl = max(settings.access_token_ttl, settings.refresh_token_ttl)
        settings.audit_max_days = max(1, settings.audit_max_days)
        settings.audit_max_rows = max(100, settings.audit_max_rows)
        settings.ask_timeout = min(3600, max(1, settings.ask_timeout))
        settings.max_held_per_grant = max(1, settings.max_held_per_grant)
        return settings

    def save(self, data_dir: Path) -> None:
        """Write settings.json atomically."""
        write_json_atomically(data_dir / "settings.json", asdict(self))
