"""The code stays typed (mypy --strict), linted (ruff), and the core never imports Qt."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
QT_ALLOWED = ("app/ui/", "app/main.py", "app/__main__.py")


def test_ruff_clean() -> None:
    targets = [d for d in ("app", "tests", "bench", "scripts", "packaging") if (REPO / d).is_dir()]
    done = subprocess.run([sys.executable, "-m", "ruff", "check", *targets],
                          cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


def test_mypy_strict_clean() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr


def test_core_never_imports_qt() -> None:
    offenders = []
    for path in sorted((REPO / "app").rglob("*.py")):
        rel = path.relative_to(REPO).as_posix()
        if rel.startswith(QT_ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[0] in ("PySide6", "shiboken6") for n in names):
                offenders.append(rel)
    assert offenders == []
