#!/usr/bin/env bash
# Set up MCP Tray in .venv and start it: the tray app, or the headless server when there is no display.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/mcp-tray "$@"
