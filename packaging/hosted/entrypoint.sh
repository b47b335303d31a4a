#!/bin/sh
# The container's start: `mcp-tray serve` for hosting, its options from the environment and its
# secrets from files (compose `secrets:` mounts them under /run/secrets). Arguments given to the
# container are added at the end.
#
#   MCP_TRAY_PUBLIC_URL       https://HOST, what clients and the identity provider see (required)
#   MCP_TRAY_DATABASE_URL     postgresql://USER@HOST:5432/DB, without the password (required)
#   MCP_TRAY_DB_PASSWORD_FILE the database password (default /run/secrets/db_password), handed to
#                             libpq through a private password file, never on the command line
#   MCP_TRAY_WORKERS          worker processes (default 2)
#   MCP_TRAY_TRUSTED_PROXY    the reverse proxy's address or network (default 127.0.0.1)
#   MCP_TRAY_SIGNING_KEY_FILE the consent-signing key shared by every replica (default /run/secrets/signing_key)
#   MCP_TRAY_OIDC_ISSUER, MCP_TRAY_OIDC_CLIENT_ID, MCP_TRAY_OIDC_NAME, MCP_TRAY_OIDC_CLIENT_SECRET_FILE
#                             (default /run/secrets/oidc_client_secret): sign-in through your provider
#   MCP_TRAY_ALLOW_EMAILS, MCP_TRAY_ALLOW_DOMAINS, MCP_TRAY_ADMIN_EMAILS   space-separated lists
set -euf  # -f: no globbing when the lists below are split into words

die() { echo "mcp-tray-entrypoint: $*" >&2; exit 2; }

[ -n "${MCP_TRAY_PUBLIC_URL:-}" ] || die "set MCP_TRAY_PUBLIC_URL (https://your.host)"
[ -n "${MCP_TRAY_DATABASE_URL:-}" ] || die "set MCP_TRAY_DATABASE_URL (postgresql://user@db:5432/mcp_tray)"

password_file=${MCP_TRAY_DB_PASSWORD_FILE:-/run/secrets/db_password}
if [ -r "$password_file" ]; then
  # libpq reads PGPASSFILE (host:port:db:user:password, `:` and `\` escaped); it must be private.
  umask 077
  PGPASSFILE=$(mktemp)
  printf '*:*:*:*:%s\n' "$(sed -e 's/\\/\\\\/g' -e 's/:/\\:/g' "$password_file" | head -n 1)" >"$PGPASSFILE"
  export PGPASSFILE
fi

set -- --host 0.0.0.0 --port "${MCP_TRAY_PORT:-8787}" \
  --database "$MCP_TRAY_DATABASE_URL" --workers "${MCP_TRAY_WORKERS:-2}" \
  --public-url "$MCP_TRAY_PUBLIC_URL" --trusted-proxy "${MCP_TRAY_TRUSTED_PROXY:-127.0.0.1}" \
  --auto-off never --log-format json \
  --signing-key-file "${MCP_TRAY_SIGNING_KEY_FILE:-/run/secrets/signing_key}" "$@"

if [ -n "${MCP_TRAY_OIDC_ISSUER:-}" ]; then
  set -- "$@" --oidc-issuer "$MCP_TRAY_OIDC_ISSUER" --oidc-client-id "${MCP_TRAY_OIDC_CLIENT_ID:?set MCP_TRAY_OIDC_CLIENT_ID}" \
    --oidc-client-secret-file "${MCP_TRAY_OIDC_CLIENT_SECRET_FILE:-/run/secrets/oidc_client_secret}"
  [ -z "${MCP_TRAY_OIDC_NAME:-}" ] || set -- "$@" --oidc-name "$MCP_TRAY_OIDC_NAME"
  for email in ${MCP_TRAY_ALLOW_EMAILS:-}; do set -- "$@" --allow-email "$email"; done
  for domain in ${MCP_TRAY_ALLOW_DOMAINS:-}; do set -- "$@" --allow-domain "$domain"; done
  for email in ${MCP_TRAY_ADMIN_EMAILS:-}; do set -- "$@" --admin-email "$email"; done
fi

exec mcp-tray serve "$@"
