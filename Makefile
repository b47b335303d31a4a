# Shortcuts. The README's two commands are scripts/run.sh and scripts/test.sh (no make needed).
.PHONY: run test bench-bridge

run:
	scripts/run.sh

test:
	scripts/test.sh

# Start-up of the built-in bridge against mcp-remote (figures, not a test).
bench-bridge:
	scripts/setup.sh --test
	scripts/with_keyring.sh .venv/bin/python bench/bridge_startup.py
