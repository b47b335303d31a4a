"""`/health` and `/ready`: what a load balancer or an orchestrator asks every worker, with no sign-in.

- `/health`: the process is alive and serving (200 JSON). It also tells `mcp-tray panic` and the
  tray that the port is an MCP Tray's.
- `/ready`: the store answers and its schema is the one this version expects (200), else 503 with
  the reason, so a proxy sends nothing to a worker whose database is gone or not yet migrated.

Neither says anything secret: no paths, no database address, no counts of clients or grants.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable

import anyio
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app import __version__
from app.auth.origins import current_origin
from app.store.store import Store

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store"}


def _base() -> dict[str, object]:
    return {"name": "mcp-tray", "version": __version__, "pid": os.getpid()}


async def health(request: Request) -> Response:
    """200 while the process serves requests."""
    return JSONResponse({"status": "ok", **_base(), "mcp": f"{current_origin.get()}/mcp"}, headers=NO_STORE)


def ready_problem(store: Store) -> str | None:
    """None when the store answers with the expected schema, else a reason fit to show anyone."""
    try:
        problem = store.schema_problem()
    except Exception as exc:  # any driver error means "not ready"; the log has the details
        log.warning("readiness check: the store did not answer: %s: %s", type(exc).__name__, exc)
        return "the store does not answer"
    return problem


def ready_endpoint(store: Store) -> Callable[[Request], Awaitable[Response]]:
    """The /ready handler for `store` (the check runs on a worker thread: it waits on the database)."""

    async def ready(request: Request) -> Response:
        problem = await anyio.to_thread.run_sync(ready_problem, store)
        if problem is not None:
            return JSONResponse({"status": "unavailable", "reason": problem, **_base()}, status_code=503,
                                headers=NO_STORE)
        return JSONResponse({"status": "ready", **_base()}, headers=NO_STORE)

    return ready
