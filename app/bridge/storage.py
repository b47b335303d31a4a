"""Where the bridge keeps its OAuth client registration and tokens: the OS keyring, else memory only.

One keyring entry per server URL (service `mcp-tray-bridge`, account = the canonical URL) holds a
small JSON record: the client registration, the tokens and when the access token expires. With no
usable keyring the record lives in this process only and the user is told so; it is never written
to a file in its place.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass, field
from typing import Any, TextIO
from urllib.parse import urlsplit, urlunsplit

from mcp.shared.auth import OAuthClientInformationFull, OAuthToken
from pydantic import ValidationError

from app.bridge.cached_sign_in import SERVICE, canonical_url
from app.secrets.keyring_store import keyring_problem

log = logging.getLogger(__name__)

LOOPBACK_SPELLINGS = ("127.0.0.1", "localhost")


def url_spellings(url: str) -> list[str]:
    """The same local server under both loopback names and both MCP endpoints (/mcp and /sse).

    Clients are configured with any of these, so a reset must reach all of them. A URL that is not
    on a loopback name, or whose path is neither endpoint, is returned as it is.
    """
    canonical = canonical_url(url)
    parts = urlsplit(canonical)
    hosts = [parts.hostname or ""]
    if parts.hostname in LOOPBACK_SPELLINGS:
        hosts = list(LOOPBACK_SPELLINGS)
    paths = [parts.path]
    if parts.path in ("/mcp", "/sse"):
        paths = ["/mcp", "/sse"]
    port = f":{parts.port}" if parts.port is not None else ""
    found = [urlunsplit((parts.scheme, f"{h}{port}", p, parts.query, "")) for h in hosts for p in paths]
    return sorted(set(found), key=found.index)


@dataclass
class Record:
    """What one server's entry holds."""

    client_info: dict[str, Any] | None = None
    tokens: dict[str, Any] | None = None
    expires_at: float | None = None  # absolute time the access token expires (tokens only carry expires_in)

    @classmethod
    def parse(cls, raw: str | None) -> Record:
        """A record from its JSON; anything unreadable counts as empty (the bridge then signs in again)."""
        if not raw:
            return cls()
        try:
            data = json.loads(raw)
        except ValueError:
            log.warning("ignoring an unreadable bridge record in the keyring")
            return cls()
        if not isinstance(data, dict):
            return cls()
        client, tokens, expires = data.get("client_info"), data.get("tokens"), data.get("expires_at")
        return cls(client if isinstance(client, dict) else None, tokens if isinstance(tokens, dict) else None,
                   float(expires) if isinstance(expires, int | float) else None)

    def dump(self) -> str:
        """The record as JSON."""
        return json.dumps({"client_info": self.client_info, "tokens": self.tokens, "expires_at": self.expires_at})


@dataclass
class BridgeStorage:
    """The SDK's TokenStorage over the keyring (or memory), for one server URL."""

    server_url: str
    stderr: TextIO | None = None
    persistent: bool = True
    problem: str | None = None
    _record: Record = field(default_factory=Record)

    @property
    def account(self) -> str:
        """The keyring account: the canonical server URL."""
        return canonical_url(self.server_url)

    def load(self) -> Record:
        """Read the record from the keyring (decides, once, whether there is one to use)."""
        if self.persistent and self.problem is None:
            self.problem = keyring_problem()
            if self.problem is not None:
                self._go_memory(self.problem)
        if self.persistent:
            try:
                import keyring

                self._record = Record.parse(keyring.get_password(SERVICE, self.account))
            except Exception as exc:
                self._go_memory(f"the OS keyring could not be read ({type(exc).__name__}: {exc})")
        return self._record

    def _save(self) -> None:
        if not self.persistent:
            return
        try:
            import keyring

            keyring.set_password(SERVICE, self.account, self._record.dump())
        except Exception as exc:
            self._go_memory(f"the OS keyring refused to store the sign-in ({type(exc).__name__}: {exc})")

    def _go_memory(self, problem: str) -> None:
        self.persistent = False
        self.problem = problem
        out = self.stderr or sys.stderr
        print(f"mcp-tray bridge: {problem}. The sign-in for {self.server_url} is kept in memory only: "
              "nothing is written to disk, and you will be asked to approve again next time the bridge "
              "starts.", file=out, flush=True)

    # -- what the OAuth client needs beyond the SDK protocol --------------------------------------

    @property
    def expires_at(self) -> float | None:
        """When the stored access token expires (None: unknown)."""
        return self._record.expires_at

    def redirect_uri(self) -> str | None:
        """The callback URI the stored registration was made with."""
        uris = (self._record.client_info or {}).get("redirect_uris") or []
        return str(uris[0]) if uris else None

    def clear(self) -> None:
        """Forget the registration and tokens (in the keyring too)."""
        self._record = Record()
        if self.persistent:
            try:
                import keyring
                from keyring.errors import PasswordDeleteError

                try:
                    keyring.delete_password(SERVICE, self.account)
                except PasswordDeleteError:
                    pass
            except Exception as exc:
                log.warning("could not clear the bridge's keyring entry: %s", exc)

    def forget_tokens(self) -> None:
        """Drop the tokens but keep the registration (after a refused refresh)."""
        self._record.tokens = None
        self._record.expires_at = None
        self._save()

    # -- mcp.client.auth.TokenStorage -------------------------------------------------------------

    async def get_tokens(self) -> OAuthToken | None:
        """The stored tokens, or None."""
        if self._record.tokens is None:
            return None
        try:
            return OAuthToken.model_validate(self._record.tokens)
        except ValidationError:
            return None

    async def set_tokens(self, tokens: OAuthToken) -> None:
        """Store new tokens (after a sign-in or a refresh)."""
        self._record.tokens = tokens.model_dump(mode="json", exclude_none=True)
        self._record.expires_at = time.time() + tokens.expires_in if tokens.expires_in is not None else None
        self._save()

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        """The stored client registration, or None."""
        if self._record.client_info is None:
            return None
        try:
            return OAuthClientInformationFull.model_validate(self._record.client_info)
        except ValidationError:
            return None

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        """Store a (new) registration; tokens of another client_id are dropped with the old one."""
        old = (self._record.client_info or {}).get("client_id")
        if old != client_info.client_id:
            self._record.tokens = None
            self._record.expires_at = None
        self._record.client_info = client_info.model_dump(mode="json", exclude_none=True)
        self._save()
