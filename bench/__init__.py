"""Benchmarks: calls against the bare MCP SDK server, token checks, start-up and memory (`make bench`)."""
