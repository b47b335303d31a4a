"""The consent-signing key of a hosted server: from the environment or a secrets file, never a desktop keyring.

Every worker signs and checks waiting-page links with the same key, and a server has no desktop
keyring (nor a person to unlock one), so `serve` in hosted mode takes the key from
$MCP_TRAY_SIGNING_KEY or from `--signing-key-file PATH`. The file must be readable by its owner
only (mode 0600 or stricter): a key anyone on the machine can read lets them forge approval links.
The key is at least 32 random bytes written as hex (`openssl rand -hex 32`).
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from app.secrets.keyring_store import Secret

log = logging.getLogger(__name__)

SIGNING_KEY_ENV = "MCP_TRAY_SIGNING_KEY"
MIN_BYTES = 32


class SigningKeyError(ValueError):
    """The key given is missing, malformed or too widely readable; the message says which."""


def _parse(text: str, where: str) -> bytes:
    raw = text.strip()
    try:
        value = bytes.fromhex(raw)
    except ValueError:
        raise SigningKeyError(f"the signing key in {where} is not hex; make one with: openssl rand -hex 32") from None
    if len(value) < MIN_BYTES:
        raise SigningKeyError(f"the signing key in {where} has {len(value)} bytes; it needs at least {MIN_BYTES} "
                              "(openssl rand -hex 32)")
    return value


def read_key_file(path: Path) -> bytes:
    """The key in `path`, refused unless only its owner can read it."""
    try:
        info = path.stat()
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise SigningKeyError(f"the signing key file {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SigningKeyError(f"cannot read the signing key file {path}: {exc}") from None
    if os.name == "posix" and info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SigningKeyError(f"the signing key file {path} is readable by others (mode "
                              f"{stat.S_IMODE(info.st_mode):04o}); run: chmod 600 {path}")
    return _parse(text, str(path))


def server_fallback_key() -> Secret:
    """One process on PostgreSQL with no key given: a random key for this run, never the desktop keyring.

    Waiting pages open across a restart need reloading, and a second replica would not accept this
    one's links; `serve --workers` above 1 refuses to run this way.
    """
    log.warning("no signing key given ($%s or --signing-key-file): using a random one for this run only",
                SIGNING_KEY_ENV)
    return Secret(secrets.token_bytes(MIN_BYTES), persistent=False, problem="no signing key given")


def hosted_signing_key(path: Path | None, env: dict[str, str] | None = None) -> Secret | None:
    """The key from `path` or $MCP_TRAY_SIGNING_KEY (the file wins), or None when neither is given."""
    if path is not None:
        return Secret(read_key_file(path), persistent=True)
    text = (os.environ if env is None else env).get(SIGNING_KEY_ENV, "")
    if text.strip():
        return Secret(_parse(text, f"${SIGNING_KEY_ENV}"), persistent=True)
    return None
