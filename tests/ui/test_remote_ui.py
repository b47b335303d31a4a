"""Remote access in the GUI, offscreen: start and stop from the app, the dashboard line, Settings."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from PySide6.QtGui import QGuiApplication
from pytestqt.qtbot import QtBot

from app.config import Settings
from app.server.runner import ServerState
from app.store.store import Store
from app.ui.tray_app import TrayApp
from tests.conftest import parts_of
from tests.remote.headers import PUBLIC, mint, via_proxy
from tests.support.oauth import register
from tests.ui.test_tray_app import make_app

pytestmark = pytest.mark.gui


@pytest.fixture
def app(qtbot: QtBot, data_dir: Path) -> Iterator[TrayApp]:
    tray_app = make_app(data_dir, 0)
    qtbot.addWidget(tray_app.dashboard)
    tray_app.dashboard.quit_requested.disconnect(tray_app.quit)
    yield tray_app
    tray_app.shutdown()


def test_start_and_stop_remote_access_from_the_app(qtbot: QtBot, app: TrayApp) -> None:
    app.settings = replace(app.settings, public_url=PUBLIC, ingress="proxy", remote_auto_off="8h")
    app.start(start_server=True)
    qtbot.waitUntil(lambda: app.runner.state is ServerState.RUNNING and not app.controller.busy, timeout=10_000)
    metadata = app.runner.base_url + "/.well-known/oauth-authorization-server"
    assert httpx.get(metadata, headers=via_proxy()).status_code == 421
    app.toggle_remote()
    qtbot.waitUntil(lambda: app.runner.remote.status().on and not app.controller.busy, timeout=10_000)
    assert httpx.get(metadata, headers=via_proxy()).json()["issuer"] == PUBLIC
    qtbot.waitUntil(lambda: "on at" in app.dashboard.status_panel.values["remote"].text(), timeout=5000)
    line = app.dashboard.status_panel.values["remote"].text()
    assert f"{PUBLIC}/mcp" in line and "until" in line
    app.copy_public_url()
    assert QGuiApplication.clipboard().text() == f"{PUBLIC}/mcp"
    client_id = register(app.runner.base_url, "phone")
    access, _ = mint(app.runner, client_id, f"{PUBLIC}/mcp", remote=True)
    app.toggle_remote()
    qtbot.waitUntil(lambda: not app.runner.remote.status().on and not app.controller.busy, timeout=10_000)
    assert httpx.get(metadata, headers=via_proxy()).status_code == 421
    assert (check := parts_of(app.runner).store.check_token(access)) is not None and check.revoked
    qtbot.waitUntil(lambda: app.dashboard.status_panel.values["remote"].text() == "off", timeout=5000)


def test_remote_access_without_a_public_url_opens_settings(qtbot: QtBot, app: TrayApp) -> None:
    app.start(start_server=True)
    qtbot.waitUntil(lambda: app.runner.state is ServerState.RUNNING and not app.controller.busy, timeout=10_000)
    app.toggle_remote()
    assert app.settings_dialog is not None and app.settings_dialog.isVisible()
    assert not app.runner.remote.status().on
    assert "No public URL" in app.dashboard.banner.text()


def test_settings_remote_section_checks_and_saves(qtbot: QtBot, app: TrayApp, data_dir: Path) -> None:
    app.open_settings()
    dialog = app.settings_dialog
    assert dialog is not None
    section = dialog.remote
    section.ingress.setCurrentIndex(section.ingress.findData("proxy"))
    section.public_url.setText("http://mcp.example.test")
    dialog.save()
    assert dialog.error.isVisible() and "https://" in dialog.error.text()
    section.public_url.setText(PUBLIC + ":8443")
    section.trusted.setText("10.0.0.0/8, nonsense")
    dialog.save()
    assert "nonsense" in dialog.error.text()
    section.trusted.setText("10.0.0.5, ::1")
    section.auto_off.setCurrentIndex(section.auto_off.findData("midnight"))
    with qtbot.waitSignal(dialog.saved, timeout=5000):
        dialog.save()
    saved = Settings.load(data_dir)
    assert (saved.public_url, saved.trusted_proxies, saved.remote_auto_off) == (
        PUBLIC + ":8443", ["10.0.0.5", "::1"], "midnight")
    assert app.runner.public.trusts("10.0.0.5") and not app.runner.public.trusts("127.0.0.1")


def test_settings_passkeys_add_list_and_remove(qtbot: QtBot, app: TrayApp, data_dir: Path) -> None:
    app.open_settings()
    dialog = app.settings_dialog
    assert dialog is not None
    section = dialog.passkeys
    opened: list[str] = []

    def open_url(url: str) -> bool:
        opened.append(url)
        return True

    section.open_url = open_url
    dialog.remote.public_url.setText("")
    assert section.add("phone") is None and "Remote access is not set up" in section.status.text()
    assert opened == []
    dialog.remote.public_url.setText(PUBLIC)
    link = section.add("phone")
    assert link is not None and opened == [link] and link.startswith(f"{PUBLIC}/passkeys/enroll?t=")
    # The link works once; make the passkey in the store as the enrolment page's server would.
    store = Store(data_dir)
    try:
        enrolment = store.passkeys.enrolment(link.split("t=", 1)[1], PUBLIC)
        key = store.passkeys.add(enrolment, "mcp.example.test", b"credential", b"key", 0)
    finally:
        store.close()
    section.refresh()  # read on a worker; the list fills in when it is done
    qtbot.waitUntil(lambda: section.list.count() == 1 and section.list.item(0).text().startswith(
        "phone — for mcp.example.test"), timeout=5000)
    section.list.setCurrentRow(0)
    assert section.remove_button.isEnabled()
    section.remove_selected()
    assert "Removed the passkey phone" in section.status.text()
    store = Store(data_dir)
    try:
        assert store.passkeys.get(key.id) is None
    finally:
        store.close()
    qtbot.waitUntil(lambda: "No passkeys" in section.list.item(0).text(), timeout=5000)
    assert not section.remove_button.isEnabled()
