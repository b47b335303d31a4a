"""Subprocess for the kill test: rewrite our entry in a big config forever, until killed.

Usage: python -m tests.clients.kill_worker CONFIG URL_A URL_B
"""

from __future__ import annotations

import sys
from pathlib import Path

from app.clients import claude_desktop as cd


def main() -> None:
    path, urls = Path(sys.argv[1]), sys.argv[2:4]
    print("ready", flush=True)
    n = 0
    while True:
        cd.write_entry(urls[n % 2], path, via="bridge")
        n += 1


if __name__ == "__main__":
    main()
