"""Logging: a rotating file in the log dir, and stderr only when there is a stderr (windowed builds have none).

A hosted server (`serve --log-format json`, or $MCP_TRAY_LOG_FORMAT=json) writes one JSON object
per line on stderr instead, for a log collector: time, level, logger, message, the process id, and
the fields of the request being served when there is one (see app/server/request_log.py).
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import os
import sys
import time
from collections.abc import Callable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"
LOG_FORMAT_ENV = "MCP_TRAY_LOG_FORMAT"
LOG_FORMATS = ("text", "json")

# The request a log line was written for: method, path, peer, request id (set by request_log). A
# callable is called once, when the first line of that request needs them (most requests log nothing).
Fields = dict[str, Any]
request_fields: ContextVar[Fields | Callable[[], Fields] | None] = ContextVar("mcp_tray_request_fields", default=None)


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def format(self, record: logging.LogRecord) -> str:
        """time (ISO 8601 UTC, ms), level, logger, message, pid, request fields, exception text."""
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
        entry: dict[str, Any] = {
            "time": f"{stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        fields = request_fields.get()
        if callable(fields):
            fields = fields()
        if fields:
            entry["request"] = fields
        extra = getattr(record, "fields", None)
        if isinstance(extra, dict):
            entry.update(extra)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def wanted_format(given: str | None) -> str:
    """The console format: the option if given, else $MCP_TRAY_LOG_FORMAT, else text."""
    choice = (given or os.environ.get(LOG_FORMAT_ENV, "") or "text").strip().lower()
    return choice if choice in LOG_FORMATS else "text"


def configure(log_dir: Path, *, console_level: int | None = logging.INFO, log_format: str = "text") -> Path:
    """Send logs to mcp-tray.log (1 MiB x 3) and, if wanted and possible, to stderr. Returns the file."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_mcp_tray", False):
            root.removeHandler(handler)
            handler.close()
    root.setLevel(logging.INFO)
    path = log_dir / "mcp-tray.log"
    file_handler = logging.handlers.RotatingFileHandler(path, maxBytes=1 << 20, backupCount=3, encoding="utf-8")
    file_handler.setFormatter(logging.Formatter(FORMAT))
    file_handler._mcp_tray = True  # type: ignore[attr-defined]  # our mark: replaced on the next setup
    root.addHandler(file_handler)
    if console_level is not None and sys.stderr is not None:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(console_level)
        plain = logging.Formatter("%(levelname)s: %(message)s")
        console.setFormatter(JsonFormatter() if log_format == "json" else plain)
        console._mcp_tray = True  # type: ignore[attr-defined]  # our mark, as above
        root.addHandler(console)
    # uvicorn's own loggers would otherwise add handlers that write to sys.stdout.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    return path
