#!/usr/bin/env bash
# Set up everything the tests need, then run the whole suite inside a private D-Bus session with
# an unlocked gnome-keyring (the real OS keyring). GUI tests start their own Xvfb and trayer.
# Extra arguments go to pytest, e.g. scripts/test.sh -k consent
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$PWD/node_modules/.bin:$PATH"
exec dbus-run-session -- sh -c '
  printf "%s" mcp-tray-test-password | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  MCP_TRAY_REQUIRE_KEYRING=1 exec .venv/bin/python -m pytest "$@"
' sh "$@"
