"""Server middleware that records every tools/call, resources/read and prompts/get in the audit log.

It runs for every transport and protocol era (the SDK sends all of them through the same
middleware chain). Inner layers (the tool policy gate) say why a call ended the way it did by
filling in the `AuditNote` this middleware puts in a context variable for the request.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from app.auth.caller import current_caller
from app.server.audit_writer import AuditWriter
from app.server.redact import summarize
from app.store import audit

AUDITED = {"tools/call": "name", "resources/read": "uri", "prompts/get": "name"}
DETAIL_LIMIT = 300


@dataclass
class AuditNote:
    """What an inner layer knows about the call's outcome (None: judge by the result)."""

    outcome: str | None = None
    detail: str = ""


current_note: contextvars.ContextVar[AuditNote | None] = contextvars.ContextVar("audit_note", default=None)


def note(outcome: str, detail: str = "") -> None:
    """Called by inner layers: this is how the current call ended."""
    current = current_note.get()
    if current is not None:
        current.outcome, current.detail = outcome, detail


def _error_text(result: HandlerResult) -> str | None:
    """The text of a tool error result; None when the result is not an error."""
    if isinstance(result, CallToolResult):  # nearly every audited call: read it, don't dump it
        if not result.is_error:
            return None
        return next((block.text for block in result.content if isinstance(block, TextContent)), "")
    body: Any = result.model_dump(by_alias=True) if isinstance(result, BaseModel) else result
    if not isinstance(body, Mapping) or not body.get("isError"):
        return None
    for block in body.get("content") or []:
        if isinstance(block, Mapping) and isinstance(block.get("text"), str):
            return str(block["text"])
    return ""


class AuditMiddleware:
    """Times each audited call and hands one entry per call to the writer."""

    def __init__(self, writer: AuditWriter) -> None:
        self.writer = writer

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Server middleware: pass through everything; record the audited methods."""
        field = AUDITED.get(ctx.method)
        if field is None or ctx.request_id is None:
            return await call_next(ctx)
        params = ctx.params or {}
        name = params.get(field)
        arguments = params.get("arguments") if ctx.method != "resources/read" else None
        the_note = AuditNote()
        reset = current_note.set(the_note)
        started_at, started = time.time(), time.perf_counter()
        outcome, detail = audit.OK, ""
        try:
            result = await call_next(ctx)
            text = _error_text(result)
            if text is not None:
                outcome, detail = audit.TOOL_ERROR, text
            return result
        except MCPError as exc:
            outcome, detail = audit.ERROR, exc.error.message
            raise
        except anyio.get_cancelled_exc_class():
            outcome, detail = audit.CANCELLED, "the client went away before the answer"
            raise
        except Exception as exc:
            outcome, detail = audit.ERROR, f"{type(exc).__name__}: {exc}"
            raise
        finally:
            current_note.reset(reset)
            if the_note.outcome is not None:
                outcome, detail = the_note.outcome, the_note.detail or detail
            caller = current_caller()
            self.writer.record(audit.AuditEntry(
                at=started_at,
                client_id=caller.client_id if caller else None,
                client_name=None,
                grant_id=caller.grant_id if caller else None,
                method=ctx.method,
                name=str(name)[:200] if name is not None else "",
                arguments=summarize(arguments if isinstance(arguments, Mapping) else None),
                outcome=outcome,
                detail=detail[:DETAIL_LIMIT],
                duration_ms=(time.perf_counter() - started) * 1000,
            ))
