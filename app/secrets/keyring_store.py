"""The OS keyring via `keyring`, and what happens when there is none: an ephemeral secret, said once."""

from __future__ import annotations

import hashlib
import logging
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SERVICE = "mcp-tray"


@dataclass(frozen=True)
class Secret:
    """A secret value and whether it survives a restart (False: no keyring, kept in memory only)."""

    value: bytes
    persistent: bool
    problem: str = ""


def _account(name: str, data_dir: Path) -> str:
    # Several data dirs (tests, a second profile) are separate installations with separate keys.
    tag = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return f"{name}@{tag}"


def keyring_problem() -> str | None:
    """None when a usable keyring backend exists, else a sentence saying why not."""
    if sys.platform != "darwin":
        # keyring tries every backend it knows, and its macOS one looks for the Security framework
        # even elsewhere (ctypes.util.find_library runs ldconfig and gcc: ~50 ms at each start) before
        # it finds it is not on macOS. Marked as absent, it is left out at once, as it is anyway.
        sys.modules.setdefault("keyring.backends.macOS.api", None)  # type: ignore[arg-type]
    try:
        import keyring
        from keyring.backends import fail

        backend = keyring.get_keyring()
        if isinstance(backend, fail.Keyring):
            return "no OS keyring is available (keyring found no backend)"
    except Exception as exc:
        return f"the OS keyring could not be loaded: {exc}"
    return None


def load_or_create(name: str, data_dir: Path, nbytes: int = 32) -> Secret:
    """The named secret from the keyring, created there on first use.

    With no usable keyring the secret is random for this run only, and the warning says so once.
    """
    import keyring
    from keyring.errors import KeyringError

    account = _account(name, data_dir)
    problem = keyring_problem()
    if problem is None:
        try:
            stored = keyring.get_password(SERVICE, account)
            if stored:
                return Secret(bytes.fromhex(stored), persistent=True)
            value = secrets.token_bytes(nbytes)
            keyring.set_password(SERVICE, account, value.hex())
            return Secret(value, persistent=True)
        except (KeyringError, ValueError) as exc:
            problem = f"the OS keyring refused access ({type(exc).__name__}: {exc})"
        except Exception as exc:
            problem = f"the OS keyring failed ({type(exc).__name__}: {exc})"
    log.warning(
        "%s: using a temporary %s for this run only; consent pages open across a restart will "
        "need reloading. Nothing is written to disk in its place.",
        problem,
        name,
    )
    return Secret(secrets.token_bytes(nbytes), persistent=False, problem=problem)


class SecretStoreError(RuntimeError):
    """The OS keyring cannot keep a secret the user gave us (we never fall back to a file)."""


def read_text(name: str, data_dir: Path) -> str | None:
    """A text secret the user gave us (an ngrok auth token, ...), or None when there is none or no keyring."""
    import keyring
    from keyring.errors import KeyringError

    if keyring_problem() is not None:
        return None
    try:
        return keyring.get_password(SERVICE, _account(name, data_dir)) or None
    except KeyringError as exc:
        log.warning("could not read %s from the OS keyring: %s", name, exc)
        return None


def write_text(name: str, data_dir: Path, value: str) -> None:
    """Keep a text secret in the OS keyring (an empty value deletes it); SecretStoreError when it cannot."""
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    problem = keyring_problem()
    if problem is not None:
        raise SecretStoreError(f"{problem}; the secret was not saved (it is never written to a file)")
    account = _account(name, data_dir)
    try:
        if value:
            keyring.set_password(SERVICE, account, value)
        else:
            try:
                keyring.delete_password(SERVICE, account)
            except PasswordDeleteError:
                pass
    except KeyringError as exc:
        raise SecretStoreError(f"the OS keyring refused to save it ({exc})") from exc
