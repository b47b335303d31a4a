"""One shape for every OAuth-style error body: `{"error", "error_description"}` (RFC 6749 5.2, RFC 6750 3)."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.responses import JSONResponse

NO_STORE = {"Cache-Control": "no-store"}


def oauth_error(error: str, description: str, status: int = 400, headers: Mapping[str, str] | None = None,
                **extra: str) -> JSONResponse:
    """A JSON error response; never cached. `extra` adds members (say, the `scope` of a step-up)."""
    return JSONResponse({"error": error, "error_description": description, **extra}, status_code=status,
                        headers={**NO_STORE, **(headers or {})})
