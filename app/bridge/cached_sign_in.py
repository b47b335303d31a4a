"""The bridge's stored sign-in, read without the keyring package: the quick start's one look at the keyring.

`keyring` loads every backend by entry point before it answers (a few hundred ms); on Linux with keyring's
default choice the record sits in the Secret Service under the attributes keyring's SecretService backend
stores, and `secretstorage` reads it directly. Anywhere else this answers None and the full bridge
(app.bridge.storage) reads it through keyring.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

log = logging.getLogger(__name__)

SERVICE = "mcp-tray-bridge"  # the keyring service of every bridge sign-in (app.bridge.storage uses it too)
EXPIRY_MARGIN = 30.0  # seconds: a token this close to expiry goes the full way (which refreshes it)


def canonical_url(url: str) -> str:
    """The server URL as a keyring account: lower-case scheme and host, no fragment, no trailing slash."""
    parts = urlsplit(url.strip())
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path.rstrip("/"), parts.query, ""))


def _keyring_config_exists() -> bool:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return (Path(base) / "python_keyring" / "keyringrc.cfg").exists()


def read_cached_record(url: str) -> str | None:
    """The bridge's keyring entry for `url`, read the quick way, or None (then the full bridge reads it).

    Only on Linux with keyring's default choice (no PYTHON_KEYRING_BACKEND, no keyringrc.cfg): Secret
    Service through `secretstorage`, with the attributes keyring's SecretService backend stores
    (`service`, `username`). keyring itself loads every backend by entry point first, a few hundred ms.
    """
    if sys.platform != "linux" or os.environ.get("PYTHON_KEYRING_BACKEND") or _keyring_config_exists():
        return None
    try:
        import secretstorage

        bus = secretstorage.dbus_init()
        try:
            collection = secretstorage.get_default_collection(bus)
            if collection.is_locked():
                return None
            for item in collection.search_items({"username": canonical_url(url), "service": SERVICE}):
                if item.is_locked():
                    return None
                return str(item.get_secret().decode("utf-8"))
        finally:
            bus.close()
    except Exception as exc:  # no D-Bus, no Secret Service, anything: the full bridge will say what is wrong
        log.debug("quick keyring read failed: %s", exc)
    return None


def usable_token(raw: str | None, now: float | None = None) -> str | None:
    """The access token of a stored record when it is valid for more than EXPIRY_MARGIN seconds."""
    if not raw:
        return None
    try:
        record = json.loads(raw)
    except ValueError:
        return None
    if not isinstance(record, dict):
        return None
    tokens, expires_at = record.get("tokens"), record.get("expires_at")
    if not isinstance(tokens, dict) or not isinstance(expires_at, int | float):
        return None
    token = tokens.get("access_token")
    if not isinstance(token, str) or not token or str(tokens.get("token_type", "Bearer")).lower() != "bearer":
        return None
    if float(expires_at) - EXPIRY_MARGIN <= (time.time() if now is None else now):
        return None
    return token
