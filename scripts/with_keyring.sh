#!/usr/bin/env bash
# Run a command inside a private D-Bus session with a fresh, unlocked gnome-keyring (the real OS
# keyring, isolated from the user's own), as scripts/test.sh does for the tests.
# Examples: scripts/with_keyring.sh .venv-test/bin/python bench/bridge_startup.py; scripts/test.sh uses it.
set -euo pipefail
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
export MCP_TRAY_KEYRING_HOME="$keyring_home"
dbus-run-session -- sh -c '
  printf "%s" mcp-tray-test-password |
    XDG_DATA_HOME="$MCP_TRAY_KEYRING_HOME" gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec "$@"
' sh "$@"
