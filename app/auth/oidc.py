"""Signing in the approver at the team's OpenID Connect provider (hosted mode), with Authlib.

The server is an OpenID relying party: it finds the provider's endpoints by discovery
(`ISSUER/.well-known/openid-configuration`), sends the browser there with the authorization code
flow (PKCE S256, `state`, `nonce`), swaps the code for tokens with its client secret, and checks
the ID token (signature against the provider's JWKS, `iss`, `aud`, `exp`, `nonce`) with joserfc
and Authlib's `CodeIDToken`. Only an email the provider says is verified counts; who may approve
is a list of emails and domains.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from app.auth.oidc_settings import OidcSettings

log = logging.getLogger(__name__)

DISCOVERY = "/.well-known/openid-configuration"
SCOPE = "openid email"
LEEWAY = 60  # seconds of clock difference tolerated on exp/iat
TIMEOUT = 10.0


class OidcError(Exception):
    """A sign-in at the provider that cannot be used: `status` for the page, and a sentence."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


@dataclass(frozen=True)
class Approver:
    """Who signed in at the provider: a verified email."""

    email: str
    subject: str

    @property
    def label(self) -> str:
        """What the approval and the grant record: `oidc:alice@example.com`."""
        return f"oidc:{self.email}"


def verified_email(claims: dict[str, Any]) -> str | None:
    """The email of ID-token or userinfo claims when the provider says it is verified, else None."""
    email = claims.get("email")
    verified = claims.get("email_verified")
    if isinstance(email, str) and "@" in email and (verified is True or verified == "true"):
        return email.strip().lower()
    return None


def check_id_token(id_token: str, jwks: dict[str, Any], *, issuer: str, client_id: str, nonce: str,
                   algorithms: list[str], access_token: str | None = None) -> dict[str, Any]:
    """The verified claims of an ID token; JoseError (or ValueError) when any check fails.

    Signature with a key of the provider's JWKS, then `iss`, `aud`, `exp`, `iat`, `nonce` (and
    `azp`, `at_hash` when present) through Authlib's CodeIDToken rules.
    """
    token = jwt.decode(id_token, KeySet.import_key_set(jwks),  # type: ignore[arg-type]  # JSON; joserfc checks it
                       registry=JWSRegistry(algorithms=algorithms))
    options: dict[str, Any] = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "exp": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }
    params: dict[str, Any] = {"nonce": nonce, "client_id": client_id}
    if access_token:
        params["access_token"] = access_token
    claims = CodeIDToken(token.claims, token.header, options, params)
    claims.validate(leeway=LEEWAY)
    return dict(claims)


class OidcClient:
    """The provider, as this server uses it: discovery and JWKS cached, one sign-in at a time per call."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        self._metadata: dict[str, Any] | None = None
        self._jwks: dict[str, Any] | None = None

    def _client(self) -> AsyncOAuth2Client:
        s = self.settings
        return AsyncOAuth2Client(client_id=s.client_id, client_secret=s.client_secret, scope=SCOPE,
                                 redirect_uri=s.redirect_uri, code_challenge_method="S256", timeout=TIMEOUT)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
                response = await http.get(url, headers={"Accept": "application/json"})
        except httpx2.HTTPError as exc:
            raise OidcError(502, f"cannot reach the sign-in provider ({type(exc).__name__}); try again") from None
        if response.status_code != 200:
            raise OidcError(502, f"the sign-in provider answered {response.status_code} for {url}")
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise OidcError(502, f"the sign-in provider's {url} is not a JSON object")
        return body

    async def metadata(self) -> dict[str, Any]:
        """The provider's discovery document (fetched once, then kept); its issuer must be ours exactly."""
        if self._metadata is None:
            found = await self._get_json(self.settings.issuer + DISCOVERY)
            if str(found.get("issuer", "")).rstrip("/") != self.settings.issuer:
                raise OidcError(502, f"the provider's discovery document names issuer {found.get('issuer')!r}, "
                                f"not {self.settings.issuer!r}")
            for key in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
                if not isinstance(found.get(key), str):
                    raise OidcError(502, f"the provider's discovery document has no {key}")
            self._metadata = found
        return self._metadata

    async def _key_set(self, fresh: bool = False) -> dict[str, Any]:
        if self._jwks is None or fresh:
            self._jwks = await self._get_json(str((await self.metadata())["jwks_uri"]))
        return self._jwks

    async def authorization_url(self, state: str, nonce: str, code_verifier: str) -> str:
        """Where to send the browser: the provider's login for this one sign-in."""
        endpoint = str((await self.metadata())["authorization_endpoint"])
        async with self._client() as client:
            url, _ = client.create_authorization_url(endpoint, state=state, code_verifier=code_verifier,
                                                     nonce=nonce)
        return str(url)

    async def finish(self, code: str, code_verifier: str, nonce: str) -> Approver:
        """Swap the code for tokens and check the ID token; OidcError (400) when anything is off."""
        meta = await self.metadata()
        try:
            async with self._client() as client:
                token = await client.fetch_token(str(meta["token_endpoint"]), grant_type="authorization_code",
                                                 code=code, code_verifier=code_verifier)
        except (AuthlibBaseError, ValueError) as exc:  # the provider's error answer (OAuthError), or a malformed one
            raise OidcError(400, f"the provider refused the sign-in code ({getattr(exc, 'error', None) or exc}); "
                            "it may have been used already — start again from the waiting page") from None
        except httpx2.HTTPError as exc:
            raise OidcError(502, f"cannot reach the sign-in provider ({type(exc).__name__}); try again") from None
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise OidcError(400, "the provider sent no ID token (is the client registered for OpenID Connect?)")
        access_token = token.get("access_token")
        algorithms = meta.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = [a for a in algorithms if isinstance(a, str) and a != "none"] or ["RS256"]
        access = access_token if isinstance(access_token, str) else None
        claims = await self._verify(id_token, nonce, algorithms, access)
        email = verified_email(claims)
        if email is None and "email" not in claims and access and meta.get("userinfo_endpoint"):
            email = verified_email(await self._userinfo(str(meta["userinfo_endpoint"]), access, claims))
        if email is None:
            raise OidcError(403, "your account at the provider has no verified email address, "
                            "so it cannot approve sign-ins here")
        return Approver(email, str(claims["sub"]))

    async def _verify(self, id_token: str, nonce: str, algorithms: list[str],
                      access_token: str | None) -> dict[str, Any]:
        s = self.settings
        for fresh in (False, True):  # a key id we do not know yet: the provider rotated its keys
            try:
                return check_id_token(id_token, await self._key_set(fresh), issuer=s.issuer, client_id=s.client_id,
                                      nonce=nonce, algorithms=algorithms, access_token=access_token)
            except InvalidKeyIdError:
                if fresh:
                    break
            except (JoseError, ValueError) as exc:
                log.info("ID token refused: %s", exc)
                raise OidcError(400, f"the provider's ID token did not check out ({exc})") from None
        raise OidcError(400, "the provider's ID token is signed with a key it does not publish")

    async def _userinfo(self, endpoint: str, access_token: str, claims: dict[str, Any]) -> dict[str, Any]:
        """The userinfo claims (for providers that keep the email out of the ID token); same `sub` only."""
        try:
            async with httpx2.AsyncClient(timeout=TIMEOUT) as http:
                response = await http.get(endpoint, headers={"Authorization": f"Bearer {access_token}"})
            info = response.json() if response.status_code == 200 else {}
        except (httpx2.HTTPError, ValueError):
            info = {}
        if not isinstance(info, dict) or info.get("sub") != claims.get("sub"):
            return {}
        return info
