"""A stand-in for a browser and its owner: `approve_browser.py URL` opens the waiting page, the owner approves.

MCP clients open the authorization URL with `$BROWSER URL`. This opens the waiting page, answers
it with `mcp-tray approve CODE` as the owner would (or `deny`, with APPROVE_BROWSER_ACTION=deny),
then follows the page's redirect to the client's loopback callback, as a browser would.
Each URL it was given is appended to `$APPROVE_BROWSER_LOG` (when set) so tests can count visits.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.support.consent import answer_consent


def main() -> int:
    """Approve, deliver the code to the callback, exit 0."""
    url = sys.argv[1]
    log = os.environ.get("APPROVE_BROWSER_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(url + "\n")
    callback = answer_consent(url, os.environ.get("APPROVE_BROWSER_ACTION", "approve"))
    httpx.get(callback, timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
