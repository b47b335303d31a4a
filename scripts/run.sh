#!/usr/bin/env bash
# Set up MCP Tray in .venv and start it: the tray app, or the headless server when there is no display.
# The set-up prints a line per step and installs only when pyproject.toml changed (see scripts/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
echo "setup: starting MCP Tray" >&2
exec .venv/bin/mcp-tray "$@"
