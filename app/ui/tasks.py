"""Run blocking work (disk, keyring, the server's start and stop) off the GUI thread.

The result comes back through a queued Qt signal, so callbacks run on the GUI thread. The
signal carrier lives in the GUI thread and is kept alive until its result was delivered.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

log = logging.getLogger(__name__)

# Task objects stay referenced here until their result is delivered. They are not auto-deleted
# by the pool: Python owns them, so they die on the GUI thread, never under a worker.
_pending: dict[_Carrier, _Task] = {}


class _Carrier(QObject):
    done = Signal(object)
    failed = Signal(object)


class _Task(QRunnable):
    def __init__(self, fn: Callable[[], Any], carrier: _Carrier) -> None:
        super().__init__()
        self.fn = fn
        self.carrier = carrier

    def run(self) -> None:
        try:
            result = self.fn()
        except Exception as exc:
            self.carrier.failed.emit(exc)
        else:
            self.carrier.done.emit(result)


def run_task(
    pool: QThreadPool,
    fn: Callable[[], Any],
    on_done: Callable[[Any], None] | None = None,
    on_failed: Callable[[Exception], None] | None = None,
    owner: QObject | None = None,
) -> None:
    """Run `fn` on `pool`; then `on_done(result)` or `on_failed(exception)` on the GUI thread.

    The result arrives as a queued event, possibly after `owner` (the widget or service the
    callbacks touch) was deleted; then the callbacks are skipped.
    """
    carrier = _Carrier()
    task = _Task(fn, carrier)
    task.setAutoDelete(False)
    _pending[carrier] = task

    def finish(callback: Callable[[Any], None] | None, value: Any) -> None:
        _pending.pop(carrier, None)
        if owner is not None and not shiboken6.isValid(owner):
            log.debug("dropping a task result: its owner is gone")
            return
        if callback is not None:
            callback(value)
        elif isinstance(value, Exception):
            log.error("background task failed: %s", value, exc_info=value)

    carrier.done.connect(lambda result: finish(on_done, result))
    carrier.failed.connect(lambda exc: finish(on_failed, exc))
    pool.start(task)
