"""The client writers are core code: importing them (and the configure command) never loads Qt."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_client_writers_do_not_import_qt() -> None:
    code = ("import sys, app.clients.claude_desktop, app.clients.cursor, app.clients.vscode, "
            "app.clients.claude_code, app.commands.configure; "
            "print(sorted(m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))))")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
