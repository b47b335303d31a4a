"""The OpenID Connect rules without a provider: ID-token checks, who may approve, the options, signed cookies.

The end-to-end flow against a real provider is tests/remote/test_oidc.py; here the ID tokens are
signed with a key made for the test, so each check (signature, iss, aud, exp, nonce) can be broken
on its own.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from app.auth.consent_request import ConsentSigner
from app.auth.oidc import check_id_token, verified_email
from app.auth.oidc_settings import OidcConfigError, OidcSettings, check_issuer, read_client_secret
from app.auth.sealed import seal, unseal
from tests.support.serve import REPO, app_command

ISSUER = "https://login.example.com"
CLIENT = "mcp-tray"
KEY = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
OTHER = RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)
JWKS = {"keys": [KEY.as_dict(private=False)]}


def _token(key: RSAKey = KEY, **changes: Any) -> str:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": ISSUER, "sub": "alice", "aud": CLIENT, "exp": now + 300, "iat": now,
                              "nonce": "n-1", "email": "alice@example.com", "email_verified": True}
    claims.update(changes)
    return jwt.encode({"alg": "RS256", "kid": "k1"}, {k: v for k, v in claims.items() if v is not None}, key)


def _check(token: str, nonce: str = "n-1") -> dict[str, Any]:
    return check_id_token(token, JWKS, issuer=ISSUER, client_id=CLIENT, nonce=nonce, algorithms=["RS256"])


def test_a_good_id_token_checks_out() -> None:
    claims = _check(_token())
    assert claims["sub"] == "alice" and verified_email(claims) == "alice@example.com"


@pytest.mark.parametrize("token, nonce", [
    (_token(nonce="another"), "n-1"),  # the nonce of another sign-in
    (_token(nonce=None), "n-1"),  # no nonce at all
    (_token(), "n-2"),
    (_token(aud="someone-else"), "n-1"),
    (_token(iss="https://evil.example"), "n-1"),
    (_token(exp=int(time.time()) - 3600), "n-1"),  # expired (beyond the leeway)
    (_token(key=OTHER), "n-1"),  # signed with a key the provider does not publish
])
def test_each_id_token_check_refuses_on_its_own(token: str, nonce: str) -> None:
    with pytest.raises((JoseError, ValueError)):
        _check(token, nonce)


def test_an_unsigned_id_token_is_refused() -> None:
    header = "eyJhbGciOiJub25lIn0"  # {"alg":"none"}
    body = _token().split(".")[1]
    with pytest.raises((JoseError, ValueError)):
        _check(f"{header}.{body}.")


@pytest.mark.parametrize("claims, expected", [
    ({"email": "Alice@Example.com", "email_verified": True}, "alice@example.com"),
    ({"email": "alice@example.com", "email_verified": "true"}, "alice@example.com"),
    ({"email": "alice@example.com", "email_verified": False}, None),
    ({"email": "alice@example.com"}, None),
    ({"email_verified": True}, None),
])
def test_only_a_verified_email_counts(claims: dict[str, Any], expected: str | None) -> None:
    assert verified_email(claims) == expected


def _secret(tmp_path: Path, mode: int = 0o600) -> Path:
    path = tmp_path / "secret"
    path.write_text("s3cret\n")
    path.chmod(mode)
    return path


def test_who_may_approve(tmp_path: Path) -> None:
    settings = OidcSettings.build(issuer=ISSUER + "/", client_id=CLIENT, secret_file=_secret(tmp_path),
                                  public_url="https://mcp.example.org", allow_emails=["Bob@Other.org"],
                                  allow_domains=["example.com"], admin_emails=["boss@else.org"])
    assert settings.issuer == ISSUER and settings.redirect_uri == "https://mcp.example.org/oidc/callback"
    assert settings.client_secret == "s3cret" and "s3cret" not in repr(settings)
    assert settings.provider_name == "login.example.com"
    assert settings.may_approve("alice@example.com") and settings.may_approve("bob@other.org")
    assert settings.may_approve("boss@else.org") and settings.is_admin("boss@else.org")
    assert not settings.is_admin("alice@example.com")
    for outsider in ("mallory@evil.example", "eve@sub.example.com", "eve@notexample.com", "example.com"):
        assert not settings.may_approve(outsider), outsider


def test_bad_options_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(OidcConfigError, match="chmod 600"):
        read_client_secret(_secret(tmp_path, 0o644))
    with pytest.raises(OidcConfigError, match="cannot read"):
        read_client_secret(tmp_path / "missing")
    with pytest.raises(OidcConfigError, match="https"):
        check_issuer("http://login.example.com")
    assert check_issuer("http://127.0.0.1:9000/") == "http://127.0.0.1:9000"  # a provider run on loopback
    with pytest.raises(OidcConfigError, match="nobody could approve"):
        OidcSettings.build(issuer=ISSUER, client_id=CLIENT, secret_file=_secret(tmp_path),
                           public_url="https://mcp.example.org")
    with pytest.raises(OidcConfigError, match="not a domain"):
        OidcSettings.build(issuer=ISSUER, client_id=CLIENT, secret_file=_secret(tmp_path),
                           public_url="https://mcp.example.org", allow_domains=["a@b.c"])


@pytest.mark.parametrize("extra, message", [
    (["--oidc-issuer", ISSUER, "--oidc-client-id", CLIENT, "--oidc-client-secret-file", "SECRET",
      "--allow-domain", "example.com"], "needs --public-url"),
    (["--allow-email", "a@example.com"], "need --oidc-issuer"),
    (["--public-url", "https://mcp.example.org", "--oidc-issuer", ISSUER], "needs --oidc-client-id"),
    (["--public-url", "https://mcp.example.org", "--oidc-issuer", ISSUER, "--oidc-client-id", CLIENT,
      "--oidc-client-secret-file", "OPEN", "--allow-domain", "example.com"], "can be read by other users"),
])
def test_serve_refuses_bad_oidc_options_before_starting(tmp_path: Path, extra: list[str], message: str) -> None:
    secret, open_secret = _secret(tmp_path), tmp_path / "open"
    open_secret.write_text("x")
    open_secret.chmod(0o644)
    args = [str(secret) if a == "SECRET" else str(open_secret) if a == "OPEN" else a for a in extra]
    done = subprocess.run(app_command("serve", "--data-dir", str(tmp_path / "data"), "--port", "0", *args),
                          cwd=REPO, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_sealed_values_are_bound_to_their_purpose_and_expire() -> None:
    signer = ConsentSigner(b"k" * 32)
    sealed = seal(signer, "oidc-flow", {"s": "state"}, 60)
    assert (unseal(signer, "oidc-flow", sealed) or {}).get("s") == "state"
    assert unseal(signer, "oidc-session", sealed) is None
    assert unseal(ConsentSigner(b"j" * 32), "oidc-flow", sealed) is None
    body, mac = sealed.split(".")
    assert unseal(signer, "oidc-flow", body[:-2] + "AA." + mac) is None
    assert unseal(signer, "oidc-flow", seal(signer, "oidc-flow", {}, -1)) is None
    for junk in ("", "x", "a.b.c", "!!.??"):
        assert unseal(signer, "oidc-flow", junk) is None
