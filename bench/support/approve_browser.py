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

from bench.support.consent import answer_consent, open_waiting_page, wait_for_answer


def main() -> int:
    """Approve, deliver the code to the callback, exit 0."""
    url = sys.argv[1]
    log = os.environ.get("APPROVE_BROWSER_LOG")
    if log:
        with open(log, "a", encoding="utf-8") as f:
            f.write(url + "\n")
    action = os.environ.get("APPROVE_BROWSER_ACTION", "approve")
    if action == "wait":  # a browser only: somebody else answers (the tray window, in the tests)
        with httpx.Client(follow_redirects=False, timeout=10) as http:
            waiting_url, _ = open_waiting_page(http, url)
            callback = wait_for_answer(http, waiting_url)
    else:
        callback = answer_consent(url, action)
    httpx.get(callback, timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
