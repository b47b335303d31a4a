"""`mcp-tray serve` as a child process for tests; it lives in bench/support/serve.py (shared with bench/, scripts/)."""

from bench.support.serve import REPO, ServeProcess, app_command, free_port

__all__ = ["REPO", "ServeProcess", "app_command", "free_port"]
