#!/usr/bin/env bash
# Set up everything the tests need, then run the whole suite inside a private D-Bus session with
# a freshly created, unlocked gnome-keyring (the real OS keyring, isolated from the user's own
# keyrings). GUI tests start their own Xvfb and trayer. Extra arguments go to pytest,
# e.g. scripts/test.sh -k consent
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$PWD/node_modules/.bin:$PATH"
keyring_home=$(mktemp -d)
trap 'rm -rf "$keyring_home"' EXIT
export MCP_TRAY_KEYRING_HOME="$keyring_home"
dbus-run-session -- sh -c '
  printf "%s" mcp-tray-test-password |
    XDG_DATA_HOME="$MCP_TRAY_KEYRING_HOME" gnome-keyring-daemon --unlock --components=secrets >/dev/null
  MCP_TRAY_REQUIRE_KEYRING=1 exec .venv/bin/python -m pytest "$@"
' sh "$@"
