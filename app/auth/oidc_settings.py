"""The OpenID Connect options of a hosted server, checked: issuer, client, secret file, who may approve.

Kept apart from app/auth/oidc.py so that reading the options loads neither Authlib nor httpx.
"""

from __future__ import annotations

import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from app.auth.origins import LOOPBACK_HOSTS


class OidcConfigError(ValueError):
    """An OpenID Connect option that cannot work; the message says which and why."""


def read_client_secret(path: Path) -> str:
    """The client secret from its file; OidcConfigError when missing, empty, or readable by others."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise OidcConfigError(f"cannot read the client secret file {path}: {exc.strerror or exc}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise OidcConfigError(f"the client secret file {path} can be read by other users; "
                              f"run `chmod 600 {path}` (it must be private to this user)")
    if not text:
        raise OidcConfigError(f"the client secret file {path} is empty")
    return text


def check_issuer(issuer: str) -> str:
    """The issuer URL without a trailing slash; https, or http on loopback only (a provider run for tests)."""
    text = issuer.strip().rstrip("/")
    try:
        parts = urlsplit(text)
    except ValueError:
        raise OidcConfigError(f"{issuer!r} is not a URL") from None
    if not parts.hostname or parts.query or parts.fragment:
        raise OidcConfigError(f"the issuer must be a plain https:// URL (got {issuer!r})")
    if parts.scheme != "https" and not (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS):
        raise OidcConfigError(f"the issuer must use https:// (got {issuer!r})")
    return text


def _clean_emails(emails: Iterable[str]) -> frozenset[str]:
    found = set()
    for raw in emails:
        email = raw.strip().lower()
        if "@" not in email or email.startswith("@") or email.endswith("@"):
            raise OidcConfigError(f"{raw!r} is not an email address")
        found.add(email)
    return frozenset(found)


def _clean_domains(domains: Iterable[str]) -> frozenset[str]:
    found = set()
    for raw in domains:
        domain = raw.strip().lower().lstrip("@")
        if not domain or "@" in domain or "." not in domain:
            raise OidcConfigError(f"{raw!r} is not a domain (say, example.com)")
        found.add(domain)
    return frozenset(found)


@dataclass(frozen=True)
class OidcSettings:
    """The OpenID Connect options of one hosted server."""

    issuer: str
    client_id: str
    client_secret: str = field(repr=False)
    redirect_uri: str  # PUBLIC_URL/oidc/callback, registered at the provider
    allow_emails: frozenset[str] = frozenset()
    allow_domains: frozenset[str] = frozenset()
    admin_emails: frozenset[str] = frozenset()
    provider_name: str = ""

    @classmethod
    def build(cls, *, issuer: str, client_id: str, secret_file: Path, public_url: str,
              allow_emails: Iterable[str] = (), allow_domains: Iterable[str] = (),
              admin_emails: Iterable[str] = (), provider_name: str | None = None) -> OidcSettings:
        """Checked settings from the command line; OidcConfigError saying what is wrong."""
        issuer = check_issuer(issuer)
        if not client_id.strip():
            raise OidcConfigError("--oidc-client-id is empty")
        admins = _clean_emails(admin_emails)
        emails = _clean_emails(allow_emails) | admins
        domains = _clean_domains(allow_domains)
        if not emails and not domains:
            raise OidcConfigError("nobody could approve: give --allow-email or --allow-domain (repeatable)")
        name = (provider_name or "").strip() or (urlsplit(issuer).hostname or issuer)
        return cls(issuer, client_id.strip(), read_client_secret(secret_file),
                   public_url.rstrip("/") + "/oidc/callback", emails, domains, admins, name)

    def may_approve(self, email: str) -> bool:
        """An allowed email, or an email in an allowed domain (exactly that domain)."""
        local, at, domain = email.strip().lower().rpartition("@")
        if not (local and at and domain):
            return False
        return f"{local}@{domain}" in self.allow_emails or domain in self.allow_domains

    def is_admin(self, email: str) -> bool:
        """An admin sees and revokes every grant on /account."""
        return email.lower() in self.admin_emails
