"""Logging: a rotating file in the log dir, and stderr only when there is a stderr (windowed builds have none)."""

from __future__ import annotations

import logging
import logging.handlers
import sys
from pathlib import Path

FORMAT = "%(asctime)s %(levelname)-7s %(name)s: %(message)s"


def configure(log_dir: Path, *, console_level: int | None = logging.INFO) -> Path:
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
    file_handler._mcp_tray = True  # type: ignore[attr-defined]
    root.addHandler(file_handler)
    if console_level is not None and sys.stderr is not None:
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(console_level)
        console.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        console._mcp_tray = True  # type: ignore[attr-defined]
        root.addHandler(console)
    # uvicorn's own loggers would otherwise add handlers that write to sys.stdout.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    logging.getLogger("uvicorn.error").setLevel(logging.WARNING)
    return path
