# The README's commands. `make run` sets up and starts the app; `make test` sets up and runs every test.
.PHONY: run test

run:
	scripts/run.sh

test:
	scripts/test.sh

# Soak test (10 minutes; not part of `make test`): scripts/soak.sh --seconds N for a shorter run.
.PHONY: soak
soak:
	scripts/soak.sh
