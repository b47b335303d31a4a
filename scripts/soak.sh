#!/usr/bin/env bash
# Soak test (not part of `make test`): 8 clients call tools/call with periodic refresh against
# `mcp-tray serve` for 10 minutes, then print errors and server memory. Arguments go to
# scripts/soak.py, e.g. scripts/soak.sh --seconds 30
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
exec .venv-test/bin/python scripts/soak.py "$@"
