"""Client authentication at /token and /revoke (RFC 6749 2.3.1) against hashed client secrets.

The SDK's `ClientAuthenticator` compares the presented secret with `client.client_secret` in
plain text, so a provider using it must keep every secret readable in its database. The store
keeps only a SHA-256 of each secret (as it does for tokens); this authenticator reads the
presented secret the same ways the SDK does (`client_secret_basic`, `client_secret_post`) and
compares hashes in constant time. The hash never leaves the store: the client record the SDK
handlers see has no secret at all.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import time
from urllib.parse import unquote

from mcp.server.auth.middleware.client_auth import AuthenticationError, ClientAuthenticator
from mcp.shared.auth import OAuthClientInformationFull
from starlette.datastructures import FormData
from starlette.requests import Request

from app.auth.provider import StoreProvider
from app.store.store import Store, hash_secret


def _basic_secret(request: Request, client_id: str) -> str:
    header = request.headers.get("Authorization", "")
    if not header.startswith("Basic "):
        raise AuthenticationError("Missing or invalid Basic authentication in Authorization header")
    try:
        decoded = base64.b64decode(header[6:], validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
        raise AuthenticationError("Invalid Basic authentication header") from exc
    user, sep, secret = decoded.partition(":")
    if not sep:
        raise AuthenticationError("Invalid Basic authentication header")
    if unquote(user) != client_id:  # RFC 6749 2.3.1: both parts are form-urlencoded
        raise AuthenticationError("Client ID mismatch in Basic auth")
    return unquote(secret)


def presented_secret(request: Request, form: FormData, method: str | None, client_id: str) -> str | None:
    """The secret the request carries for the client's registered auth method (None for `none`)."""
    if method == "client_secret_basic":
        return _basic_secret(request, client_id)
    if method == "client_secret_post":
        raw = form.get("client_secret")
        return raw if isinstance(raw, str) else None
    if method == "none":
        return None
    raise AuthenticationError(f"Unsupported auth method: {method}")


class HashedSecretAuthenticator(ClientAuthenticator):
    """The SDK's authenticator, with the secret checked against the store's hash."""

    def __init__(self, provider: StoreProvider) -> None:
        super().__init__(provider)
        self.store: Store = provider.store

    async def authenticate_request(self, request: Request) -> OAuthClientInformationFull:
        """The authenticated client, or AuthenticationError (which the handlers answer 401)."""
        form = await request.form()
        client_id = form.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise AuthenticationError("Missing client_id")
        client = await self.provider.get_client(client_id)
        if client is None:
            raise AuthenticationError("Invalid client_id")
        method = client.token_endpoint_auth_method
        secret = presented_secret(request, form, method, client_id)
        stored = self.store.client_secret_hash(client_id)
        if method != "none" and stored is None:
            # Registered for a secret but none is stored: nothing could be verified.
            raise AuthenticationError("Client is registered for secret-based authentication but has no stored secret")
        if stored is not None:
            if not secret:
                raise AuthenticationError("Client secret is required")
            if not hmac.compare_digest(stored.encode(), hash_secret(secret).encode()):
                raise AuthenticationError("Invalid client_secret")
            expires = client.client_secret_expires_at
            if expires and expires < int(time.time()):
                raise AuthenticationError("Client secret has expired")
        return client
