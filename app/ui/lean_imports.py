"""PySide6 without the source of every module in memory.

Importing shiboken6 (which PySide6 does) puts a hook on `__import__` for its `__feature__` switches:
after each import it asks whether the new module uses PySide6 by reading the module's whole source
with `inspect.getsource`. That goes through `linecache`, which keeps every line of every module the
process imports from then on: in the tray app, with the MCP SDK, Starlette, uvicorn and pydantic,
about 775 files, 22 MiB of Python strings that are never freed, and a fifth of the import time.

`install()` gives the hook the same answer (does the file's text mention PySide6?) read straight
from the file, so nothing stays behind. MCP Tray uses no `__feature__` switch. Anything that is not
a plain source file, or a PySide6 without that hook, is left to PySide6's own check.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from types import ModuleType

log = logging.getLogger(__name__)

MARK = "_mcp_tray_lean"


def _reads_the_file(original: Callable[[ModuleType], bool]) -> Callable[[ModuleType], bool]:
    def uses_pyside(module: ModuleType) -> bool:
        path = getattr(module, "__file__", None)
        if isinstance(path, str) and path.endswith(".py"):
            try:
                with open(path, "rb") as source:
                    return b"PySide6" in source.read()
            except OSError:
                pass  # not on disk (a zip, say): PySide6's way finds it
        return original(module)

    setattr(uses_pyside, MARK, True)
    return uses_pyside


def install() -> bool:
    """Replace shiboken's source check with one that keeps nothing; False where there is none to replace."""
    try:
        feature = importlib.import_module("shibokensupport.feature")
    except ImportError:
        return False
    original = getattr(feature, "_mod_uses_pyside", None)
    if not callable(original):
        log.debug("this PySide6 has no source check to replace")
        return False
    if not getattr(original, MARK, False):
        setattr(feature, "_mod_uses_pyside", _reads_the_file(original))  # noqa: B010 - a private name of PySide6
    return True
