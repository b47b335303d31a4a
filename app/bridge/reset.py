"""Reset client sign-in: forget what MCP clients on this computer stored to sign in to our server.

The bridge's registration and tokens are in the OS keyring (one entry per server URL). mcp-remote
keeps plaintext JSON under `$MCP_REMOTE_CONFIG_DIR` or `~/.mcp-auth`, in `mcp-remote-<version>/`
folders, each file named `<md5 of the server URL>_<what>` (client_info.json, tokens.json, ...).
Only files for our server's URLs are touched: both loopback spellings, /mcp and /sse.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

from app.bridge.cached_sign_in import SERVICE, canonical_url
from app.bridge.storage import url_spellings
from app.wording import plural

log = logging.getLogger(__name__)

MCP_REMOTE_DIR_ENV = "MCP_REMOTE_CONFIG_DIR"


@dataclass
class ResetResult:
    """What a reset removed, and what it could not."""

    keyring_entries: list[str] = field(default_factory=list)
    mcp_remote_files: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def summary(self) -> str:
        """One or two sentences for a person."""
        parts = [f"Removed {plural(len(self.keyring_entries), 'bridge sign-in')} from the keyring"]
        parts.append(f"and {plural(len(self.mcp_remote_files), 'mcp-remote file')}.")
        text = " ".join(parts)
        if self.problems:
            text += " Problems: " + "; ".join(self.problems)
        return text


def mcp_remote_config_dir() -> Path:
    """Where mcp-remote keeps its files: $MCP_REMOTE_CONFIG_DIR, else ~/.mcp-auth."""
    raw = os.environ.get(MCP_REMOTE_DIR_ENV)
    return Path(raw).expanduser() if raw else Path.home() / ".mcp-auth"


def mcp_remote_hash(server_url: str) -> str:
    """mcp-remote's name prefix for a server: md5 of the URL exactly as given on its command line."""
    return hashlib.md5(server_url.encode("utf-8"), usedforsecurity=False).hexdigest()


def _mcp_remote_urls(server_url: str) -> list[str]:
    # mcp-remote hashes the URL as typed, so cover the spellings a user or a config writer may use.
    found: list[str] = []
    for url in url_spellings(server_url):
        for variant in (url, url + "/"):
            if variant not in found:
                found.append(variant)
    return found


def mcp_remote_files(server_url: str, base: Path | None = None) -> list[Path]:
    """mcp-remote's cached files for our server under `base` (default: its config dir)."""
    root = base or mcp_remote_config_dir()
    prefixes = tuple(f"{mcp_remote_hash(u)}_" for u in _mcp_remote_urls(server_url))
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(root.glob("mcp-remote-*")):
        if folder.is_dir():
            found += [p for p in sorted(folder.iterdir()) if p.is_file() and p.name.startswith(prefixes)]
    return found


def clear_bridge_keyring(server_url: str, result: ResetResult) -> None:
    """Delete the bridge's keyring entries for every spelling of our server URL."""
    try:
        import keyring
        from keyring.errors import PasswordDeleteError

        from app.secrets.keyring_store import keyring_problem

        problem = keyring_problem()
        if problem is not None:
            result.problems.append(f"{problem}; the bridge kept nothing there")
            return
        for url in url_spellings(server_url):
            account = canonical_url(url)
            if keyring.get_password(SERVICE, account) is None:
                continue
            try:
                keyring.delete_password(SERVICE, account)
                result.keyring_entries.append(account)
            except PasswordDeleteError:
                pass
    except Exception as exc:
        result.problems.append(f"the OS keyring failed ({type(exc).__name__}: {exc})")


def reset_client_sign_in(server_url: str, include_mcp_remote: bool) -> ResetResult:
    """Clear the bridge's keyring entries for our server and, when asked, mcp-remote's cached files for it.

    The next connection from those clients registers again and asks for consent once. The GUI asks
    for confirmation before passing include_mcp_remote=True.
    """
    result = ResetResult()
    clear_bridge_keyring(server_url, result)
    if include_mcp_remote:
        for path in mcp_remote_files(server_url):
            try:
                path.unlink()
                result.mcp_remote_files.append(path)
            except FileNotFoundError:
                pass
            except OSError as exc:
                result.problems.append(f"could not delete {path}: {exc.strerror or exc}")
    log.info("reset client sign-in for %s: %s", server_url, result.summary())
    return result
