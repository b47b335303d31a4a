"""The tray menu's jobs that run off the Qt thread and end in a notification: configure Claude Desktop,
reset a client's sign-in, revoke everything. Each asks first where it must, hands the slow part (files,
the store, waiting out the streams) to the app's pool, and reports on the GUI thread."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from app.bridge import reset
from app.clients import catalogue
from app.clients import claude_desktop as cd
from app.clients.catalogue import ClientKey
from app.clients.entries import WriteResult
from app.server.panic import STREAMS_GRACE, PanicResult, revoke_everything
from app.server.runner import ServerState
from app.store.store import Store
from app.ui import dialogs
from app.ui.notifier import NotifyTarget
from app.ui.tasks import run_task
from app.wording import plural

if TYPE_CHECKING:
    from app.ui.tray_app import TrayApp


def configure_claude(app: TrayApp) -> None:
    """Write Claude Desktop's entry; a broken config opens Settings, which offers a fresh start."""
    url, path, note = app.server_url(), app.claude_config, app.port_note()
    claude = catalogue.client(ClientKey.CLAUDE_DESKTOP)

    def done(result: object) -> None:
        if not isinstance(result, WriteResult):
            return
        warning = f"\n\n{note}" if note else ""
        if result.changed:
            app.notify("Claude Desktop configured", claude.after_write(result.entry) + warning,
                       NotifyTarget.DASHBOARD, bool(note))
        else:
            app.notify("Claude Desktop", "Claude Desktop was already configured for this server." + warning,
                       NotifyTarget.DASHBOARD, bool(note))

    def failed(exc: Exception) -> None:
        if isinstance(exc, cd.InvalidConfigError):
            app.open_settings()
        app.notify("Claude Desktop not configured", str(exc), NotifyTarget.SETTINGS, True)

    run_task(app.pool, lambda: cd.write_entry(url, path), done, failed, app)


def reset_client_sign_in(app: TrayApp) -> None:
    """Forget the bridge's stored sign-in and, once the user agrees, mcp-remote's cached files."""
    url = app.server_url()
    files = reset.mcp_remote_files(url)
    include = bool(files) and dialogs.ask(
        app.dashboard,
        "Reset client sign-in",
        "The bridge's stored sign-in for this server is forgotten either way. mcp-remote keeps "
        f"{plural(len(files), 'cached sign-in file')} for it too (in {files[0].parent.parent}): "
        "delete those as well? Clients that use mcp-remote, such as Claude Desktop, will then ask "
        "you to approve them again.",
    )

    def done(result: object) -> None:
        summary = result.summary() if isinstance(result, reset.ResetResult) else str(result)
        app.notify("Client sign-in reset", summary, NotifyTarget.DASHBOARD, False)

    def failed(exc: Exception) -> None:
        app.notify("Client sign-in not reset", str(exc), NotifyTarget.DASHBOARD, True)

    run_task(app.pool, lambda: reset.reset_client_sign_in(url, include), done, failed, app)


def panic(app: TrayApp) -> None:
    """After one confirmation: revoke every sign-in, deny waiting calls, close every stream, stop."""
    if not dialogs.ask(
        app.dashboard, "Revoke everything and stop?",
        "Every client's sign-in is revoked at once, calls and sign-in requests waiting for you are "
        "denied, remote access is closed, every open connection is closed and the server stops.\n\n"
        "Clients must sign in again, and you approve each.",
    ):
        return
    parts = app.runner.parts
    data_dir = app.data_dir

    def job() -> PanicResult:
        app.runner.remote.stop("revoke everything (panic)")  # the public URL and its ingress close first
        store = parts.store if parts is not None else Store(data_dir)
        result = revoke_everything(store)
        for call in app.runner.held.waiting():  # wake them now rather than at their next look
            app.runner.held.answer(call.call_id, False, by="panic")
        if app.runner.state is ServerState.RUNNING:
            time.sleep(STREAMS_GRACE)  # the revocation watcher closes the streams the clean way
        return result

    def done(result: object) -> None:
        app.controller.stop()
        summary = result.summary() if isinstance(result, PanicResult) else str(result)
        app.notify("Everything revoked", f"{summary} The server is stopped.", NotifyTarget.DASHBOARD, False)

    def failed(exc: Exception) -> None:
        app.controller.stop()
        app.notify("Revoking failed", f"{exc}. The server is being stopped anyway.", NotifyTarget.DASHBOARD, True)

    run_task(app.pool, job, done, failed, app)
