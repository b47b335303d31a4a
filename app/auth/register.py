"""POST /register (RFC 7591, Dynamic Client Registration) through the SDK, after our own bounds.

Any local process may register, and whatever it sends is stored, so the request is bounded
before the SDK validates it: the whole body (16 KiB), each string (2 KiB), each list and object,
and the nesting depth. A body too deep for the JSON parser is a 400 like any other bad body,
never a 500. Registrations are also where stale ones are pruned, at most every few minutes.
"""

from __future__ import annotations

import json
import time

from mcp.server.auth.handlers.register import RegistrationHandler
from mcp.server.auth.settings import ClientRegistrationOptions
from starlette.requests import Request
from starlette.responses import Response

from app.auth.errors import oauth_error
from app.auth.provider import StoreProvider
from app.auth.scopes import DEFAULT_SCOPE, SUPPORTED_SCOPES

MAX_BODY = 16 * 1024  # bytes; a real registration is well under 1 KiB
MAX_STRING = 2048  # characters, for every string (and object key) anywhere in the metadata
MAX_ITEMS = 16  # entries of any list (redirect_uris, contacts, grant_types, ...)
MAX_KEYS = 64  # members of any object
MAX_DEPTH = 6  # nesting of lists and objects; jwks needs 4
PRUNE_INTERVAL = 600.0  # seconds between prunes triggered by registrations


class MetadataTooLargeError(ValueError):
    """The metadata passes one of the bounds; the message says which."""


def check_bounds(value: object, path: str = "metadata", depth: int = 0) -> None:
    """Raise MetadataTooLargeError when a string, list, object or the nesting passes its bound."""
    if isinstance(value, str):
        if len(value) > MAX_STRING:
            raise MetadataTooLargeError(f"{path} is longer than {MAX_STRING} characters")
        return
    if not isinstance(value, (list, dict)):
        return
    if depth >= MAX_DEPTH:
        raise MetadataTooLargeError(f"{path} is nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, list):
        if len(value) > MAX_ITEMS:
            raise MetadataTooLargeError(f"{path} has more than {MAX_ITEMS} entries")
        for i, item in enumerate(value):
            check_bounds(item, f"{path}[{i}]", depth + 1)
        return
    if len(value) > MAX_KEYS:
        raise MetadataTooLargeError(f"{path} has more than {MAX_KEYS} members")
    for key, item in value.items():
        check_bounds(key, f"a member name in {path}", depth + 1)
        check_bounds(item, f"{path}.{key[:40]}" if path != "metadata" else key[:40], depth + 1)


def _invalid(description: str) -> Response:
    return oauth_error("invalid_client_metadata", description)


class RegisterEndpoint:
    """Registration: refuse what is not a bounded JSON object before the SDK validates the metadata."""

    def __init__(self, provider: StoreProvider) -> None:
        options = ClientRegistrationOptions(
            enabled=True, valid_scopes=list(SUPPORTED_SCOPES), default_scopes=[DEFAULT_SCOPE]
        )
        self.sdk = RegistrationHandler(provider, options=options)
        self.store = provider.store
        self._pruned_at = time.monotonic()  # the server prunes once as it starts

    async def handle(self, request: Request) -> Response:
        """Handle one registration."""
        body = await request.body()
        if len(body) > MAX_BODY:
            return _invalid(f"the registration must be at most {MAX_BODY // 1024} KiB")
        try:
            parsed = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            parsed = None
        except RecursionError:
            return _invalid(f"the metadata is nested more than {MAX_DEPTH} levels deep")
        if not isinstance(parsed, dict):
            return _invalid("the body must be a JSON object")
        try:
            check_bounds(parsed)
        except MetadataTooLargeError as exc:
            return _invalid(str(exc))
        answer: Response = await self.sdk.handle(request)
        if answer.status_code == 201 and time.monotonic() - self._pruned_at >= PRUNE_INTERVAL:
            self._pruned_at = time.monotonic()
            self.store.prune()
        return answer
