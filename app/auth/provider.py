"""The MCP SDK's OAuthAuthorizationServerProvider over our SQLite store (OAuth 2.1, RFC 7591, 7009, 8707).

The SDK owns the HTTP handlers; this adapts them to the store and to the rules the SDK leaves to
providers: loopback-only `http` redirects and the resource binding. The token rules themselves (code
replay, refresh rotation and its retry window, access-token validity) live in app/store/token_rules.py.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio
from mcp.server.auth.provider import (
    AccessToken,
    AuthorizationCode,
    AuthorizationParams,
    AuthorizeError,
    RefreshToken,
    RegistrationError,
    TokenError,
)
from mcp.shared.auth import InvalidRedirectUriError, InvalidScopeError, OAuthClientInformationFull, OAuthToken
from pydantic import AnyUrl

from app.auth.approval import ApprovalEvents, listener_on
from app.auth.cimd import DOCUMENT_MARKER, CimdError, host_of, looks_like_document_url
from app.auth.cimd_fetch import DocumentFetcher
from app.auth.consent_request import ConsentRequest, ConsentSigner
from app.auth.origins import LOOPBACK_HOSTS, ServerIdentity, way_for
from app.auth.redirects import check_redirect_uri
from app.auth.scopes import DEFAULT_SCOPE, SUPPORTED_SCOPES
from app.store.kinds import EventKind
from app.store.store import Store, TooManyPendingError, hash_secret
from app.store.token_rules import Audience, Reason, Refused

log = logging.getLogger(__name__)

CODE_TTL = 300.0  # seconds: long enough for a slow click, short enough to be useless later
# RFC 7636 4.2: an S256 challenge is BASE64URL(SHA256(verifier)) without padding, always 43 characters.
S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


class StoredClient(OAuthClientInformationFull):
    """A registered client with RFC 8252 loopback rules: the port of a loopback redirect may vary."""

    def validate_redirect_uri(self, redirect_uri: AnyUrl | None) -> AnyUrl:
        if redirect_uri is None:
            return super().validate_redirect_uri(None)
        wanted = _without_loopback_port(str(redirect_uri))
        for registered in self.redirect_uris or []:
            if str(registered) == str(redirect_uri) or _without_loopback_port(str(registered)) == wanted:
                return redirect_uri
        raise InvalidRedirectUriError(f"Redirect URI '{redirect_uri}' is not registered for this client")

    def validate_scope(self, requested_scope: str | None) -> list[str] | None:
        # The consent page decides what is granted; registration only says what the client may ask.
        if requested_scope is None:
            return None
        requested = requested_scope.split()
        unknown = [s for s in requested if s not in SUPPORTED_SCOPES]
        if unknown:
            raise InvalidScopeError(f"Unknown scope: {' '.join(unknown)}")
        return requested


def _without_loopback_port(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS:
        host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname or ""
        return urlunsplit((parts.scheme, host, parts.path, parts.query, ""))
    return uri


# Document clients already looked up while handling this request: our endpoint checks the client,
# then the SDK's handler asks for it again, and a `no-store` document must not be fetched twice.
_this_request: ContextVar[dict[str, StoredClient] | None] = ContextVar("document_clients", default=None)


@contextmanager
def one_lookup_per_request() -> Iterator[None]:
    """Within this block, each metadata document is fetched at most once."""
    token = _this_request.set({})
    try:
        yield
    finally:
        _this_request.reset(token)


class StoredAuthorizationCode(AuthorizationCode):
    """A code loaded from the store, remembering its hash."""

    code_hash: str


class StoredRefreshToken(RefreshToken):
    """A refresh token loaded from the store."""

    token_hash: str
    grant_id: str


class StoredAccessToken(AccessToken):
    """An access token loaded from the store."""

    token_hash: str
    grant_id: str


@dataclass
class TokenLifetimes:
    """How long tokens live, in seconds (the user can change these in Settings)."""

    access: int = 3600
    refresh: int = 30 * 24 * 3600


class StoreProvider:
    """OAuthAuthorizationServerProvider backed by `Store`."""

    def __init__(
        self, store: Store, identity: ServerIdentity, signer: ConsentSigner, lifetimes: TokenLifetimes,
        events: ApprovalEvents | None = None,
        documents: DocumentFetcher | None = None,
    ) -> None:
        self.store = store
        self.events = events or ApprovalEvents()
        self.identity = identity
        self.signer = signer
        self.lifetimes = lifetimes
        self.documents = documents or DocumentFetcher()

    # -- clients: registered (RFC 7591) or known by their metadata document ---------------------

    async def get_client(self, client_id: str) -> OAuthClientInformationFull | None:
        if looks_like_document_url(client_id):
            try:
                return await self.document_client(client_id)
            except CimdError as exc:
                log.info("client metadata document %s refused: %s", client_id[:200], exc.message)
                return None
        info = self.store.client_info(client_id)
        return None if info is None else StoredClient.model_validate(info)

    async def document_client(self, url: str) -> StoredClient:
        """The client whose metadata document is at `url`, fetched when the cached one expired.

        Its clients row (grants and codes refer to it) is written when the document is fetched,
        or again when the owner removed the client and it comes back. Raises CimdError.
        """
        seen = _this_request.get()
        if seen is not None and url in seen:
            return seen[url]
        document = await self.documents.get(url)
        info = document.client.model_dump(mode="json", exclude_none=True)
        info[DOCUMENT_MARKER] = {"host": host_of(url), "fetched_at": document.fetched_at,
                                 "expires_at": document.expires_at}
        if document.fresh or self.store.client_info(url) is None:
            uris = [str(u) for u in document.client.redirect_uris or []]
            try:
                if self.store.upsert_document_client(url, str(document.client.client_name), uris, info,
                                                     document.fetched_at):
                    log.info("metadata-document client %s (%s) seen", url, document.client.client_name)
            except ValueError as exc:
                raise CimdError("invalid_url", str(exc)) from None
        client = StoredClient.model_validate(info)
        if seen is not None:
            seen[url] = client
        return client

    async def document_problem(self, client_id: object) -> CimdError | None:
        """For a client_id that is a document URL: what is wrong with it, or None when it can be used."""
        if not isinstance(client_id, str) or not looks_like_document_url(client_id):
            return None
        try:
            await self.document_client(client_id)
        except CimdError as exc:
            return exc
        return None

    async def register_client(self, client_info: OAuthClientInformationFull) -> None:
        uris = [str(u) for u in client_info.redirect_uris or []]
        if not uris:
            raise RegistrationError("invalid_redirect_uri", "at least one redirect_uri is required")
        for uri in uris:
            problem = check_redirect_uri(uri)
            if problem:
                raise RegistrationError("invalid_redirect_uri", f"redirect_uri {uri} {problem}")
        if client_info.scope:
            unknown = [s for s in client_info.scope.split() if s not in SUPPORTED_SCOPES]
            if unknown:
                raise RegistrationError("invalid_client_metadata", f"unknown scope: {' '.join(unknown)}")
        if client_info.client_id is None:
            raise RegistrationError("invalid_client_metadata", "no client_id was assigned")
        name = (client_info.client_name or "").strip()[:100] or "(unnamed client)"
        self.store.add_client(client_info.client_id, name, uris, client_info.model_dump(mode="json"))
        log.info("registered client %s (%s)", client_info.client_id, name)

    # -- authorization --------------------------------------------------------------------------

    async def authorize(self, client: OAuthClientInformationFull, params: AuthorizationParams) -> str:
        way = way_for(self.identity)
        if params.resource is not None and not way.names_us(params.resource):
            raise AuthorizeError("invalid_target", f"resource {params.resource} is not this server")
        if client.client_id is None:
            raise AuthorizeError("unauthorized_client", "client has no id")
        if not S256_CHALLENGE.fullmatch(params.code_challenge):
            # An empty or malformed challenge could never be met; refuse it now, not at /token.
            raise AuthorizeError(
                "invalid_request", "code_challenge must be an S256 challenge (43 base64url characters)"
            )
        origin = way.origin
        scopes = params.scopes or (client.scope.split() if client.scope else [DEFAULT_SCOPE])
        if way.remote:
            self.store.log_event(EventKind.REMOTE_SIGN_IN, client.client_id,
                                 f"through {origin} from {way.client_address}")
        consent = ConsentRequest.new(
            client_id=client.client_id,
            redirect_uri=str(params.redirect_uri),
            redirect_explicit=params.redirect_uri_provided_explicitly,
            scopes=tuple(scopes),
            state=params.state,
            code_challenge=params.code_challenge,
            # Every grant is bound to the way in it was asked on: a token minted through the public
            # URL is refused on loopback, and back (the bearer guard compares it with the request's).
            resource=params.resource or origin,
            issuer=origin,
            # Read by the approval step: remote grants get only the basic tools unless the owner ticks more.
            remote=way.remote,
        )
        # Nothing is granted here: the request waits until the owner answers it (tray, CLI, passkey).
        listener = await anyio.to_thread.run_sync(listener_on, consent.redirect_uri)
        try:
            pending = self.store.approvals.create(
                client_id=client.client_id, request=consent.as_dict(), scopes=consent.scopes,
                redirect_uri=consent.redirect_uri, listener=listener,
            )
        except TooManyPendingError:
            raise AuthorizeError(
                "temporarily_unavailable",
                "too many sign-in requests are waiting for the owner of this server; try again later",
            ) from None
        log.info("sign-in request %s (code %s) from client %s waits for the owner",
                 pending.approval_id, pending.match_code, client.client_id)
        self.events.arrived(pending)
        return f"{origin}/consent?wait={self.signer.wait_token(pending.approval_id)}"

    async def load_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: str
    ) -> StoredAuthorizationCode | None:
        found = await _off_loop(self.store.find_code, authorization_code, str(client.client_id), self._audience())
        if isinstance(found, Refused):
            if found.reason is Reason.REPLAYED:
                log.warning("authorization code replayed by client %s; grant revoked", client.client_id)
            return None
        return StoredAuthorizationCode(
            code=authorization_code,
            code_hash=found.code_hash,
            scopes=list(found.scopes),
            expires_at=found.expires_at,
            client_id=found.client_id,
            code_challenge=found.code_challenge,
            redirect_uri=AnyUrl(found.redirect_uri),
            redirect_uri_provided_explicitly=found.redirect_explicit,
            resource=found.resource,
        )

    async def exchange_authorization_code(
        self, client: OAuthClientInformationFull, authorization_code: StoredAuthorizationCode
    ) -> OAuthToken:
        issued = await _off_loop(self.store.redeem_code, authorization_code.code_hash, self.lifetimes.access,
                                 self.lifetimes.refresh, client.client_id)
        if isinstance(issued, Refused):
            raise TokenError("invalid_grant", _refusal_text("authorization code", issued))
        return _oauth_token(issued.access_token, issued.refresh_token, issued.access_expires_in, issued.scopes)

    # -- refresh (rotation, OAuth 2.1 4.3, with a short retry window) ------------------------------

    async def load_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: str
    ) -> StoredRefreshToken | None:
        found = await _off_loop(self.store.check_refresh, refresh_token, str(client.client_id), self._audience())
        if isinstance(found, Refused):
            if found.reason is Reason.REPLAYED:
                log.warning("spent refresh token reused by client %s; grant revoked", client.client_id)
            return None
        return StoredRefreshToken(
            token=refresh_token,
            token_hash=found.token_hash,
            grant_id=found.grant_id,
            client_id=found.client_id,
            scopes=list(found.scopes),
            expires_at=int(found.expires_at),
            resource=found.resource,
        )

    async def exchange_refresh_token(
        self, client: OAuthClientInformationFull, refresh_token: StoredRefreshToken, scopes: list[str]
    ) -> OAuthToken:
        issued = await _off_loop(self.store.rotate_refresh, refresh_token.token, str(client.client_id), scopes,
                                 self.lifetimes.access, self.lifetimes.refresh, self._audience())
        if isinstance(issued, Refused):
            raise TokenError("invalid_grant", _refusal_text("refresh token", issued))
        return _oauth_token(issued.access_token, issued.refresh_token, issued.access_expires_in, issued.scopes)

    def _audience(self) -> Audience:
        """Why a grant's resource does not fit the way this request came in (legacy grants: loopback only)."""
        way = way_for(self.identity)  # read here, on the request's own context

        def problem(resource: str | None) -> str | None:
            fits = way.names_us(resource) if resource is not None or way.remote else True
            return None if fits else f"it was issued for another resource than {way.origin}"

        return problem

    # -- access tokens and revocation (RFC 7009) ---------------------------------------------------

    async def load_access_token(self, token: str) -> StoredAccessToken | None:
        check = await _off_loop(self.store.check_access, token, self._audience())
        if isinstance(check, Refused):
            return None
        return StoredAccessToken(
            token=token,
            token_hash=check.token_hash,
            grant_id=check.grant_id,
            client_id=check.client_id,
            scopes=list(check.scopes),
            expires_at=int(check.expires_at),
            resource=check.resource,
        )

    async def revoke_token(self, token: StoredAccessToken | StoredRefreshToken) -> None:
        # Revoking either token revokes the grant, so no sibling token lives on.
        await _off_loop(self.store.revoke_grant, token.grant_id, "revoked by the client (RFC 7009)")

    async def exchange_identity_assertion(self, client: OAuthClientInformationFull, params: object) -> OAuthToken:
        raise TokenError("unsupported_grant_type", "the JWT bearer grant is not supported")


T = TypeVar("T")


async def _off_loop(fn: Callable[..., T], *args: Any) -> T:
    """Run a store write on a worker thread: waiting for the database's lock must not stall the loop.

    The token endpoints are rare next to MCP requests, so the thread hop costs nothing that counts.
    """
    return await anyio.to_thread.run_sync(fn, *args)


_REFUSED = {
    Reason.EXPIRED: "has expired",
    Reason.REVOKED: "was revoked; sign in again",
    Reason.REPLAYED: "was already used, so its sign-in is revoked; sign in again",
}


def _refusal_text(what: str, refused: Refused) -> str:
    """The error_description of a refused grant (unknown and foreign ones alike: "does not exist")."""
    if refused.reason is Reason.WRONG_RESOURCE:
        return f"the {what} cannot be used here: {refused.detail}"
    return f"the {what} {_REFUSED.get(refused.reason, 'does not exist')}"


def _oauth_token(access: str, refresh: str, expires_in: int, scopes: tuple[str, ...]) -> OAuthToken:
    return OAuthToken(
        access_token=access,
        token_type="Bearer",
        expires_in=expires_in,
        scope=" ".join(scopes) or None,
        refresh_token=refresh,
    )


__all__ = ["CODE_TTL", "StoreProvider", "TokenLifetimes", "check_redirect_uri", "hash_secret", "one_lookup_per_request"]
