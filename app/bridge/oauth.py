"""The bridge's OAuth public client: the SDK's OAuthClientProvider, plus what a long-lived desktop client needs.

The SDK already does discovery (RFC 9728, RFC 8414), dynamic registration (RFC 7591), PKCE and
refresh. Added here:
- a loopback callback server and the user's browser for consent (the URL is printed to stderr too);
- token expiry restored across restarts (the SDK only knows it for tokens it obtained itself), with
  a margin, so a second start refreshes instead of asking again;
- before asking the person, a check that the stored registration is still known to the server; a
  removed client (or a callback port that is taken) registers again, so the user is asked once;
- before refreshing, tokens another bridge process stored meanwhile are adopted, so two bridges do
  not spend the same single-use refresh token.
"""

from __future__ import annotations

import logging
import sys
import threading
import webbrowser
from collections.abc import Callable
from dataclasses import fields
from typing import TextIO
from urllib.parse import urlencode, urljoin

import anyio
import httpx2
from anyio.abc import SocketAttribute, SocketStream
from anyio.streams.stapled import MultiListener
from mcp.client.auth import OAuthClientProvider
from mcp.client.auth.oauth2 import OAuthContext, check_registration_usable
from mcp.client.auth.utils import create_client_registration_request, handle_registration_response
from mcp.shared.auth import AuthorizationCodeResult, OAuthClientMetadata, OAuthToken
from pydantic import AnyUrl

from app.bridge.callback import CallbackReceiver, free_port, redirect_uri_for, state_of
from app.bridge.storage import BridgeStorage

log = logging.getLogger(__name__)

CLIENT_NAME = "MCP Tray bridge"
CONSENT_TIMEOUT = 300.0  # seconds the person has to answer in the browser
EXPIRY_MARGIN = 30.0  # refresh this long before the access token expires (capped at half its life)
PROBE_TIMEOUT = 15.0


def open_in_browser(url: str) -> None:
    """Open the URL with Python's webbrowser (which honours $BROWSER), without waiting for the browser."""
    # webbrowser runs a $BROWSER command and waits for it to exit; the callback it leads to is served
    # by this process, so the wait must not block the event loop.
    threading.Thread(target=webbrowser.open, args=(url,), name="open-browser", daemon=True).start()


class _Context(OAuthContext):
    """The SDK's context, with the expiry brought forward by a margin (clock skew, time in transit)."""

    def update_token_expiry(self, token: OAuthToken) -> None:
        super().update_token_expiry(token)
        if self.token_expiry_time is not None and token.expires_in is not None:
            self.token_expiry_time -= min(EXPIRY_MARGIN, int(token.expires_in) / 2)


class BridgeOAuth(OAuthClientProvider):
    """OAuth for one server URL, stored in a BridgeStorage, consent in the browser."""

    def __init__(self, server_url: str, storage: BridgeStorage, *, stderr: TextIO | None = None,
                 opener: Callable[[str], None] = open_in_browser, consent_timeout: float = CONSENT_TIMEOUT) -> None:
        storage.load()
        redirect = storage.redirect_uri() or redirect_uri_for(free_port())
        metadata = OAuthClientMetadata(
            client_name=CLIENT_NAME,
            redirect_uris=[AnyUrl(redirect)],
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        )
        super().__init__(server_url, metadata, storage, self._open_consent, self._wait_for_consent)
        self.context = _Context(**{f.name: getattr(self.context, f.name) for f in fields(OAuthContext)})
        self.storage = storage
        self.stderr = stderr
        self.opener = opener
        self.consent_timeout = consent_timeout
        self.consents_asked = 0
        self._receiver: CallbackReceiver | None = None

    # -- restarts and other processes ------------------------------------------------------------

    async def _initialize(self) -> None:
        await super()._initialize()
        expires_at = self.storage.expires_at
        if self.context.current_tokens is not None and expires_at is not None:
            tokens = self.context.current_tokens
            life = float(tokens.expires_in) if tokens.expires_in is not None else 2 * EXPIRY_MARGIN
            self.context.token_expiry_time = expires_at - min(EXPIRY_MARGIN, life / 2)

    async def _refresh_token(self) -> httpx2.Request:
        self.storage.load()
        stored = await self.storage.get_tokens()
        current = self.context.current_tokens
        if stored is not None and current is not None and stored.refresh_token != current.refresh_token:
            log.info("adopting tokens another bridge process stored")
            await self._initialize()
        return await super()._refresh_token()

    async def _handle_refresh_response(self, response: httpx2.Response) -> bool:
        ok = await super()._handle_refresh_response(response)
        if not ok:
            # The refresh token is spent or revoked; do not offer it again on the next start.
            self.storage.forget_tokens()
        return ok

    # -- asking the person -----------------------------------------------------------------------

    async def _perform_authorization_code_grant(self) -> tuple[str, str]:
        listener, moved = await self._bind_callback()
        async with listener:
            if moved or not await self._registration_known():
                await self._register_again()
            self._receiver = CallbackReceiver()
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._receiver.serve, listener)
                try:
                    grant = await super()._perform_authorization_code_grant()
                finally:
                    tg.cancel_scope.cancel()
                    self._receiver = None
        return grant

    async def _bind_callback(self) -> tuple[MultiListener[SocketStream], bool]:
        """Listen on the registered callback port; if it is taken, on a new one (which needs a new registration)."""
        registered = self.context.client_metadata.redirect_uris or []
        port = registered[0].port if registered else None
        if port:
            try:
                return await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=port), False
            except OSError as exc:
                log.warning("callback port %s is taken (%s); registering with a new one", port, exc)
        listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
        new_port = listener.listeners[0].extra(SocketAttribute.local_port)  # noqa: S610 - anyio, not Django
        self.context.client_metadata.redirect_uris = [AnyUrl(redirect_uri_for(new_port))]
        return listener, self.context.client_info is not None

    async def _registration_known(self) -> bool:
        """Whether the authorization endpoint still accepts our client_id and redirect URI.

        A removed client cannot be detected any other way before the browser opens, and a browser
        showing "unknown app" would leave the bridge waiting for a callback that never comes.
        """
        info = self.context.client_info
        if info is None:
            return True  # the SDK registers first
        metadata = self.context.oauth_metadata
        endpoint = (str(metadata.authorization_endpoint) if metadata and metadata.authorization_endpoint
                    else urljoin(self.context.get_authorization_base_url(self.context.server_url), "/authorize"))
        params = {"response_type": "code", "client_id": info.client_id,
                  "redirect_uri": str(next(iter(self.context.client_metadata.redirect_uris or []), "")),
                  "code_challenge": "A" * 43, "code_challenge_method": "S256", "state": "probe"}
        if self.context.client_metadata.scope:
            params["scope"] = self.context.client_metadata.scope
        if self.context.should_include_resource_param(self.context.protocol_version):
            params["resource"] = self.context.get_resource_url()
        try:
            async with httpx2.AsyncClient(timeout=PROBE_TIMEOUT, follow_redirects=False) as http:
                response = await http.get(f"{endpoint}?{urlencode(params)}")
        except httpx2.HTTPError as exc:
            log.debug("could not check the registration: %s", exc)
            return True
        if response.status_code in (400, 401):
            self._say(f"the server no longer knows this bridge's registration (client {info.client_id[:8]}…); "
                      "registering again.")
            return False
        return True

    async def _register_again(self) -> None:
        request = create_client_registration_request(
            self.context.oauth_metadata, self.context.client_metadata,
            self.context.get_authorization_base_url(self.context.server_url))
        async with httpx2.AsyncClient(timeout=PROBE_TIMEOUT) as http:
            response = await http.send(request)
        info = await handle_registration_response(response)
        check_registration_usable(info)
        if self.context.oauth_metadata is not None and self.context.oauth_metadata.registration_endpoint:
            info.issuer = self._expected_issuer()
        self.context.client_info = info
        self.context.clear_tokens()
        await self.storage.set_client_info(info)

    async def _open_consent(self, authorization_url: str) -> None:
        self.consents_asked += 1
        if self._receiver is not None:
            self._receiver.expect(state_of(authorization_url))
        self._say(f"approve access for {self.context.server_url} in your browser. If it did not open, "
                  f"visit:\n  {authorization_url}")
        self.opener(authorization_url)

    async def _wait_for_consent(self) -> AuthorizationCodeResult:
        if self._receiver is None:
            raise RuntimeError("no callback receiver is listening")
        result = await self._receiver.wait(self.consent_timeout)
        self._say("signed in.")
        return result

    def _say(self, text: str) -> None:
        print(f"mcp-tray bridge: {text}", file=self.stderr or sys.stderr, flush=True)
