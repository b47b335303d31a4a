"""The cyclic garbage collector paused while a command starts (serve, tools list): see StartWithoutGc."""

from __future__ import annotations

import gc


class StartWithoutGc:
    """The cyclic garbage collector paused while the server starts, then its start-up objects frozen.

    Importing the MCP SDK builds ~570 pydantic models: the collector's full passes over them during the
    imports cost ~0.1 s of a 0.65 s start (bench/history.md). Start-up makes little cyclic garbage; `done()`
    moves what exists then (modules, models, the app) to the permanent generation, so later full
    collections skip it, and turns the collector back on. Leaving the block turns it on in any case.
    """

    def __enter__(self) -> StartWithoutGc:
        self._was_enabled = gc.isenabled()
        gc.disable()
        return self

    def done(self) -> None:
        """Started: freeze what start-up made, collect again from here on."""
        gc.freeze()
        self.__exit__()

    def __exit__(self, *exc: object) -> None:
        if self._was_enabled:
            gc.enable()
