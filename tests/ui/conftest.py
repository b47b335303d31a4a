"""GUI test setup: Qt draws offscreen in this process (the tray tests run the app under Xvfb instead)."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from app.server.runner import ServerRunner
from app.ui.controller import ServerController
from app.ui.dashboard import Dashboard
from app.ui.store_service import StoreService


@pytest.fixture(scope="session")
def qapp(qapp_args: list[str], qapp_cls: type[QApplication]) -> Iterator[QApplication]:
    """pytest-qt's QApplication, created on the offscreen platform; the variable is put back at once
    so subprocesses of other tests (the tray under Xvfb) still get a real display."""
    before = os.environ.get("QT_QPA_PLATFORM")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    try:
        app = QApplication.instance() or qapp_cls(qapp_args)
    finally:
        if before is None:
            os.environ.pop("QT_QPA_PLATFORM", None)
    if not isinstance(app, QApplication):
        raise RuntimeError("a non-GUI Qt application exists already")
    yield app


@pytest.fixture
def dashboard(qtbot: object, server: ServerRunner, data_dir: Path) -> Iterator[Dashboard]:
    """A dashboard over a running server, as the tray app wires it (without the tray)."""
    controller = ServerController(server)
    store = StoreService(data_dir)
    window = Dashboard(controller, store, server.tools)
    qtbot.addWidget(window)  # type: ignore[attr-defined]  # pytest-qt has no annotations
    store.start()
    window.show()
    yield window
    store.close()
    controller.shutdown()


@pytest.fixture(autouse=True)
def _collect_after_each_test(qapp: QApplication) -> Iterator[None]:
    """Collect garbage after each GUI test, so Qt objects left in reference cycles are freed here.

    Left to chance, a cycle holding a dialog was collected in some later test (a segfault there,
    far from its cause); collected here, such a crash names the test that made the cycle.
    """
    yield
    gc.collect()
