# The README's commands. `make run` sets up and starts the app; `make test` sets up and runs every test.
.PHONY: run test

run:
	scripts/run.sh

test:
	scripts/test.sh
