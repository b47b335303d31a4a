#!/usr/bin/env bash
# Build the bundle, check its size (at most 120 MiB), then smoke-test the frozen app inside a
# private D-Bus session with an unlocked gnome-keyring: --version, `serve` with the whole OAuth
# flow and tools/call add, the keyring, autostart, and (once app/ui exists) the tray icon under
# Xvfb + trayer. Set SMOKE_DISPLAY=N to choose the Xvfb display; PYTHON as in scripts/bundle.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
limit=$((120 * 1024 * 1024))
if [ -z "${PYTHON:-}" ]; then
  scripts/setup.sh --test
  PYTHON=.venv-test/bin/python
fi
export PYTHON
scripts/bundle.sh
bytes=$(du -sb dist/mcp-tray | cut -f1)
if [ "$bytes" -gt "$limit" ]; then
  echo "bundle-smoke: FAIL dist/mcp-tray is $bytes bytes, over the 120 MiB limit ($limit)" >&2
  exit 1
fi
echo "bundle-smoke: ok   size $bytes bytes <= 120 MiB"
display_args=()
[ -n "${SMOKE_DISPLAY:-}" ] && display_args=(--display "$SMOKE_DISPLAY")
export PYTHONPATH="$PWD"
# A keyring of its own: gnome-keyring keeps its files in $XDG_DATA_HOME/keyrings, and the user's
# login keyring (or one another run made with another password) must not be touched or prompted for.
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
export XDG_DATA_HOME="$keyring_home"
dbus-run-session -- sh -c '
  printf "%s" mcp-tray-smoke-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec "$PYTHON" scripts/bundle_smoke.py dist/mcp-tray/mcp-tray "$@"
' sh "${display_args[@]}"
