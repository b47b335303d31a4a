#!/usr/bin/env bash
# Set up everything the tests need, then run the whole suite inside a private D-Bus session with
# a freshly created, unlocked gnome-keyring (the real OS keyring, isolated from the user's own
# keyrings; see scripts/with_keyring.sh). GUI tests start their own Xvfb and trayer.
# The tests have their own environment, .venv-test (with the test plugin package); the app's .venv
# that scripts/run.sh starts is left alone.
# Extra arguments go to pytest, e.g. scripts/test.sh -k consent
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
export PATH="$PWD/node_modules/.bin:$PATH"
exec scripts/with_keyring.sh env MCP_TRAY_REQUIRE_KEYRING=1 .venv-test/bin/python -m pytest "$@"
