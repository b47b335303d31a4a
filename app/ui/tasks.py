"""Run blocking work (disk, keyring, the server's start and stop) off the GUI thread.

The result comes back through a queued Qt signal, so callbacks run on the GUI thread. One dispatcher
object, made on the GUI thread, carries every result; the callbacks wait in a table until theirs
arrives. (A signal-carrying QObject per task, with lambdas connected to it, made a reference cycle
through Qt that Python's collector cannot see: every task leaked its object, its closures and its
result, 8 MiB a minute with the dashboard's refresh. A QRunnable subclass leaked its wrapper too;
the pool is handed a plain callable instead.)
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QThreadPool, Signal

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Waiting:
    on_done: Callable[[Any], None] | None
    on_failed: Callable[[Exception], None] | None
    owner: QObject | None


class _Dispatcher(QObject):
    """Lives on the GUI thread; workers emit `finished`, which Qt queues over to it."""

    finished = Signal(int, bool, object)  # task number, it succeeded, result or exception

    def __init__(self) -> None:
        super().__init__()
        self.waiting: dict[int, _Waiting] = {}
        self.finished.connect(self._deliver)

    def _deliver(self, number: int, ok: bool, value: object) -> None:
        waiting = self.waiting.pop(number, None)
        if waiting is None:
            return
        if waiting.owner is not None and not shiboken6.isValid(waiting.owner):
            log.debug("dropping a task result: its owner is gone")
            return
        if ok:
            if waiting.on_done is not None:
                waiting.on_done(value)
        elif not isinstance(value, Exception):
            log.error("background task failed with %r", value)
        elif waiting.on_failed is not None:
            waiting.on_failed(value)
        else:
            log.error("background task failed: %s", value, exc_info=value)


_dispatcher: _Dispatcher | None = None
_numbers = itertools.count(1)
_lock = threading.Lock()


def _get_dispatcher() -> _Dispatcher:
    global _dispatcher
    if _dispatcher is None or not shiboken6.isValid(_dispatcher):
        _dispatcher = _Dispatcher()
    return _dispatcher


def pending_count() -> int:
    """How many results are still on their way (for tests)."""
    return len(_dispatcher.waiting) if _dispatcher is not None else 0


def run_task(
    pool: QThreadPool,
    fn: Callable[[], Any],
    on_done: Callable[[Any], None] | None = None,
    on_failed: Callable[[Exception], None] | None = None,
    owner: QObject | None = None,
) -> None:
    """Run `fn` on `pool`; then `on_done(result)` or `on_failed(exception)` on the GUI thread.

    Call it on the GUI thread. The result arrives as a queued event, possibly after `owner` (the widget
    or service the callbacks touch) was deleted; then the callbacks are skipped.
    """
    dispatcher = _get_dispatcher()
    with _lock:
        number = next(_numbers)
    dispatcher.waiting[number] = _Waiting(on_done, on_failed, owner)
    finished = dispatcher.finished

    def job() -> None:
        try:
            result = fn()
        except Exception as exc:
            finished.emit(number, False, exc)
        else:
            finished.emit(number, True, result)

    pool.start(job)
