"""PySide6's import hook reads each new module's source; in the tray app that source must not stay in memory."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.gui
REPO = Path(__file__).resolve().parents[2]

PROBE = """
import json, linecache, sys
sys.path.insert(0, {folder!r})
import {first}
import uses_qt, plain_module
answers = sys.modules["__feature__"].pyside_feature_dict
kept = [name for name in linecache.cache if name.endswith(("uses_qt.py", "plain_module.py"))]
print(json.dumps({{"kept": kept, "uses_qt": answers.get("uses_qt"), "plain": answers.get("plain_module")}}))
"""


def _probe(tmp_path: Path, first: str) -> dict[str, object]:
    (tmp_path / "uses_qt.py").write_text("from PySide6.QtCore import QObject\nWIDE = 'x' * 10\n", encoding="utf-8")
    (tmp_path / "plain_module.py").write_text("VALUE = 1\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", PROBE.format(folder=str(tmp_path), first=first)], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=True)
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_modules_imported_after_the_ui_leave_no_source_in_linecache(tmp_path: Path) -> None:
    lean = _probe(tmp_path, "app.ui")
    assert lean["kept"] == []
    # PySide6 gets the same answers its own check gives: a module that uses it, one that does not.
    assert lean["uses_qt"] == 0 and lean["plain"] == -1


def test_without_it_pyside6_keeps_every_source(tmp_path: Path) -> None:
    """What app/ui/lean_imports.py is for: shiboken alone leaves each module's lines in linecache."""
    plain = _probe(tmp_path, "shiboken6")
    assert len(plain["kept"]) == 2  # type: ignore[arg-type]
    assert plain["uses_qt"] == 0 and plain["plain"] == -1
