"""On PostgreSQL, revocations close open streams in every worker at once: LISTEN on one connection.

The store's trigger (app/store/migrations.py, `_hosted_tables`) NOTIFYs `mcp_tray_revoked` in
the transaction that revokes an access token or a grant, whichever process does it. Each worker
holds one extra connection that LISTENs, as an async task on the server's event loop: it waits on
the socket (no polling, no thread), and on a notification asks the store which of its own open
streams' tokens are revoked, and cuts those (`LiveConnections.cut`: a clean disconnect first,
cancelled on a second pass if a stream is still open half a second later).

If the connection drops (the database restarts), it reconnects with a growing pause, and checks
once after each reconnect, so a revocation made while it was away is not missed. On SQLite (one
process) the desk path stays: `watch_revocations` looks at the store while streams are open.
"""

from __future__ import annotations

import logging
from typing import Any

import anyio

from app.auth.bearer import LiveConnections
from app.store.migrations import REVOKED_CHANNEL
from app.store.store import Store
from app.wording import plural

log = logging.getLogger(__name__)

SECOND_PASS = 0.5  # seconds before a stream that ignored the disconnect is cancelled
MAX_PAUSE = 10.0


async def cut_revoked(store: Store, live: LiveConnections) -> int:
    """Cut this process's streams whose token is revoked (two passes); how many were cut."""
    total = 0
    for _ in range(3):
        hashes = live.token_hashes()
        revoked = await anyio.to_thread.run_sync(store.revoked_among, hashes) if hashes else set()
        if not revoked:
            break
        total += live.cut(revoked)
        await anyio.sleep(SECOND_PASS)
    if total:
        log.info("closed %s of revoked tokens", plural(total, "connection"))
    return total


async def listen_revocations(url: str, store: Store, live: LiveConnections) -> None:
    """Forever: LISTEN for revocations and cut the streams they concern; reconnects when the link drops."""
    import psycopg

    pause = 0.5
    while True:
        try:
            conn: Any = await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=10)
            try:
                await conn.execute(f"LISTEN {REVOKED_CHANNEL}")
                pause = 0.5
                await cut_revoked(store, live)  # whatever was revoked while we were not listening
                async for _ in conn.notifies():
                    await cut_revoked(store, live)
            finally:
                with anyio.CancelScope(shield=True):  # the server stopping cancels us: close all the same
                    await conn.close()
        except psycopg.Error as exc:
            log.warning("revocation listener lost the database (%s); again in %.1f s",
                        str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__, pause)
        await anyio.sleep(pause)
        pause = min(MAX_PAUSE, pause * 2)
