# Shortcuts. The README's two commands are scripts/run.sh and scripts/test.sh (no make needed).
.PHONY: run test

run:
	scripts/run.sh

test:
	scripts/test.sh
