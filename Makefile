# Shortcuts. The README's two commands are scripts/run.sh and scripts/test.sh (no make needed).
# `make bundle` builds the desktop app with PyInstaller (dist/mcp-tray/); `make bundle-smoke` builds it
# and smoke-tests the frozen app (CI runs scripts/bundle_smoke.sh after scripts/test.sh).
.PHONY: run test bundle bundle-smoke bench-bridge

run:
	scripts/run.sh

test:
	scripts/test.sh

bundle:
	scripts/bundle.sh

bundle-smoke:
	scripts/bundle_smoke.sh

# Start-up of the built-in bridge against mcp-remote (figures, not a test).
bench-bridge:
	scripts/setup.sh --test
	scripts/with_keyring.sh .venv-test/bin/python bench/bridge_startup.py

# `make bench` runs the benchmarks (bench/) and writes docs/BENCHMARKS.md; about half an hour (the idle
# tray app is sampled for 10 minutes with and 10 without its dashboard: `python -m bench.idle --seconds N`
# alone for a shorter look). It uses the tests' environment, .venv-test.
.PHONY: bench
bench:
	scripts/setup.sh --test
	scripts/with_keyring.sh .venv-test/bin/python -m bench

# The hosted server (docs/HOSTED.md): calls/s and p99 with 1, 2 and 4 workers on PostgreSQL against the
# one-process SQLite server, same run, same client (a throwaway PostgreSQL cluster is started).
.PHONY: bench-hosted soak-hosted
bench-hosted:
	scripts/setup.sh --test
	scripts/with_keyring.sh .venv-test/bin/python -m bench.hosted

# `serve --workers 2` on PostgreSQL under 8 OAuth clients for 10 minutes (errors, memory, connections):
# .venv-test/bin/python scripts/soak_hosted.py --seconds N for a shorter run.
soak-hosted:
	scripts/setup.sh --test
	scripts/with_keyring.sh .venv-test/bin/python scripts/soak_hosted.py

# Soak test (10 minutes; not part of `make test`): scripts/soak.sh --seconds N for a shorter run.
.PHONY: soak
soak:
	scripts/soak.sh
