"""`mcp-tray serve`'s OpenID Connect options (hosted mode): who may approve, after signing in where.

`--oidc-issuer URL --oidc-client-id ID --oidc-client-secret-file PATH` turn it on (with
`--public-url`, whose `/oidc/callback` is the redirect URI registered at the provider);
`--allow-email` and `--allow-domain` say who may approve, `--admin-email` who sees every grant.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from app.auth.oidc_settings import OidcConfigError, OidcSettings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options, in their own group of `serve --help`."""
    group = parser.add_argument_group(
        "sign-in through your identity provider (hosted mode; needs --public-url)")
    group.add_argument("--oidc-issuer", metavar="URL", help="the OpenID Connect provider's issuer URL "
                       "(its /.well-known/openid-configuration is read)")
    group.add_argument("--oidc-client-id", metavar="ID", help="this server's client id at the provider")
    group.add_argument("--oidc-client-secret-file", metavar="PATH", type=Path,
                       help="file holding the client secret (must not be readable by other users)")
    group.add_argument("--oidc-name", metavar="NAME",
                       help='what the waiting page calls the provider ("Sign in with NAME"; default: its host)')
    group.add_argument("--allow-email", action="append", default=[], metavar="EMAIL",
                       help="a person who may approve sign-ins (repeatable)")
    group.add_argument("--allow-domain", action="append", default=[], metavar="DOMAIN",
                       help="everyone with a verified email in this domain may approve (repeatable)")
    group.add_argument("--admin-email", action="append", default=[], metavar="EMAIL",
                       help="a person who may approve and sees and revokes every grant on /account (repeatable)")


def from_args(args: argparse.Namespace) -> OidcSettings | None:
    """The checked settings (None when --oidc-issuer is not given); OidcConfigError saying what is wrong."""
    issuer: str | None = args.oidc_issuer
    others = (args.oidc_client_id, args.oidc_client_secret_file, args.allow_email, args.allow_domain,
              args.admin_email)
    if not issuer:
        if any(others):
            raise OidcConfigError("--oidc-client-id, --oidc-client-secret-file, --allow-email, --allow-domain and "
                                  "--admin-email need --oidc-issuer")
        return None
    if not args.oidc_client_id or args.oidc_client_secret_file is None:
        raise OidcConfigError("--oidc-issuer needs --oidc-client-id and --oidc-client-secret-file")
    if not args.public_url:
        raise OidcConfigError("--oidc-issuer needs --public-url (its /oidc/callback is the redirect URI "
                              "registered at the provider)")
    return OidcSettings.build(issuer=issuer, client_id=args.oidc_client_id,
                              secret_file=args.oidc_client_secret_file, public_url=args.public_url,
                              allow_emails=args.allow_email, allow_domains=args.allow_domain,
                              admin_emails=args.admin_email, provider_name=args.oidc_name)
